// The public OpenAPI document, as the edge serves it: every operation it lists is answered by the edge (not
// 404 `route_not_found`, not 405), methods and paths it does not list are refused, and what the edge's own
// routes answer matches the document's schemas. (The backend's tests prove the document lists exactly the
// routes of the two tables; this proves the edge routes by those tables.)
import { test } from 'node:test';
import { startStack, call, TEST_CARD } from './helpers.mjs';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/// A small JSON Schema check of what the document uses; returns the first mismatch or null.
function mismatch(doc, schema, value, at = '$') {
  if (schema.$ref) return mismatch(doc, doc.components.schemas[schema.$ref.split('/').pop()], value, at);
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((option) => mismatch(doc, option, value, at) === null).length;
    return matching === 1 ? null : `${at}: matches ${matching} oneOf options`;
  }
  const kinds = [schema.type ?? []].flat();
  const kindOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v === 'number' ? 'number' : typeof v);
  if (kinds.length && !kinds.includes(kindOf(value))) return `${at}: ${JSON.stringify(value)} is not ${kinds.join(' or ')}`;
  if (value === null) return null; // a nullable field's other keywords apply to its values only
  if (schema.enum && !schema.enum.includes(value)) return `${at}: ${value} is not one of ${schema.enum}`;
  if ('const' in schema && schema.const !== value) return `${at}: ${value} is not ${schema.const}`;
  if (kindOf(value) === 'object') {
    for (const name of schema.required ?? []) if (!(name in value)) return `${at}.${name}: missing`;
    for (const [name, field] of Object.entries(value)) {
      const property = schema.properties?.[name];
      if (property) {
        const found = mismatch(doc, property, field, `${at}.${name}`);
        if (found) return found;
      } else if (schema.additionalProperties === false) {
        return `${at}.${name}: not in the schema`;
      }
    }
  }
  if (kindOf(value) === 'array' && schema.items) {
    for (const [i, item] of value.entries()) {
      const found = mismatch(doc, schema.items, item, `${at}[${i}]`);
      if (found) return found;
    }
  }
  return null;
}

test('the edge serves the public document, answers every operation in it and refuses what is not in it', async (t) => {
  // A deployment with Apple Pay, so its domain-association file is served too.
  const stack = await startStack({ vars: { APPLE_PAY_DOMAIN_ASSOCIATION: 'association-file-from-apple' } });
  t.after(() => stack.stop());
  const response = await stack.edge.fetch('/v1/openapi.json');
  t.assert.equal(response.status, 200);
  t.assert.match(response.headers.get('content-type'), /application\/json/);
  t.assert.ok(response.headers.get('request-id'), 'every answer carries a Request-Id');
  const doc = await response.json();
  t.assert.equal(doc.openapi, '3.1.0');

  let operations = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    const concrete = path
      .replace('{connector}', 'stripe')
      .replace('{account}', 'pa_00000000000000000000000000')
      .replace(/\{[a-z_]+\}/g, 'x_00000000000000000000000000');
    for (const method of Object.keys(item).map((m) => m.toUpperCase())) {
      operations += 1;
      const publishable = (item[method.toLowerCase()].security ?? []).some((s) => 'publishableKey' in s);
      const key = publishable ? stack.keys.pkTest : stack.keys.skTest;
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;
      const answer = await call(stack.edge, key, method, concrete, body);
      const refused = ['route_not_found', 'method_not_allowed'].includes(answer.json?.code) || answer.status === 405;
      t.assert.ok(!refused, `${method} ${path} is documented but the edge answers ${answer.status} ${answer.text.slice(0, 200)}`);
    }
    for (const method of METHODS.filter((m) => !(m.toLowerCase() in item))) {
      const answer = await call(stack.edge, stack.keys.skTest, method, concrete, ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined);
      t.assert.ok(['route_not_found', 'method_not_allowed'].includes(answer.json?.code),
        `${method} ${path} is not documented but the edge answers ${answer.status} ${answer.text.slice(0, 200)}`);
    }
  }
  t.assert.ok(operations >= 50, `${operations} operations`);
  for (const path of ['/v1/transfers', '/v2/charges', '/v1/tokens/tok_1', '/internal/vault/forward', '/v1/internal/api_keys/lookup']) {
    const answer = await call(stack.edge, stack.keys.skTest, 'GET', path);
    t.assert.ok(answer.status === 404 || answer.status === 401 || answer.status === 403,
      `GET ${path} is not documented but answers ${answer.status} ${answer.text.slice(0, 200)}`);
  }

  // What the edge itself answers is what the document says.
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: TEST_CARD });
  t.assert.equal(token.status, 201, token.text);
  t.assert.equal(mismatch(doc, doc.paths['/v1/tokens'].post.responses['201'].content['application/json'].schema, token.json), null);
  t.assert.equal(mismatch(doc, doc.paths['/v1/tokens'].post.requestBody.content['application/json'].schema, { card: TEST_CARD }), null);
  const config = await stack.edge.fetch(`/v1/public/config?key=${stack.keys.pkTest}`);
  const configJson = await config.json();
  t.assert.equal(mismatch(doc, doc.paths['/v1/public/config'].get.responses['200'].content['application/json'].schema, configJson), null);
  const badCard = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: { ...TEST_CARD, number: '4242424242424241' } });
  t.assert.equal(mismatch(doc, { $ref: '#/components/schemas/Problem' }, badCard.json), null, badCard.text);
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 2500, currency: 'EUR', source: token.json.id }, { 'idempotency-key': `openapi-${Date.now()}` });
  t.assert.equal(charge.status, 201, charge.text);
  t.assert.equal(mismatch(doc, doc.paths['/v1/charges'].post.responses['201'].content['application/json'].schema, charge.json), null);
});
