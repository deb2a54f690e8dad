// A small fake of the browser for the loader's tests (not a test file itself): one container element,
// `#card`, iframes that get a window once appended, and a window whose message listeners a test calls.

/// Installs the fake as the globals `window`, `document` and `navigator`. `receive` delivers a message as
/// the iframe would (its origin and source can be forged); `fromFrame` adds the bookkeeping fields.
export function fakePage({ lang = '', language = 'en-US', api = 'http://127.0.0.1:8787' } = {}) {
  const page = { listeners: new Set(), posted: [], frameWindow: { postMessage: (data, targetOrigin) => page.posted.push({ data, targetOrigin }) } };
  const element = (tagName) => ({
    nodeType: 1,
    tagName,
    attributes: {},
    style: {},
    children: [],
    setAttribute(name, value) { this.attributes[name] = String(value); },
    listeners: {},
    addEventListener(type, listener) { (this.listeners[type] ??= []).push(listener); },
    // <dialog> and focus, as far as the 3-D Secure dialog uses them.
    open: false,
    showModal() { this.open = true; },
    close() { this.open = false; },
    focus() {},
    get isConnected() { return Boolean(this.parentNode); },
    append(...children) { children.forEach((child) => this.appendChild(child)); },
    appendChild(child) {
      this.children.push(child);
      child.parentNode = this;
      // A real iframe has a window once it is in the document.
      if (child.tagName === 'IFRAME') child.contentWindow = page.frameWindow;
      return child;
    },
    remove() {
      this.parentNode.children = this.parentNode.children.filter((c) => c !== this);
      this.contentWindow = null;
    },
  });
  page.container = element('DIV');
  page.body = element('BODY');
  globalThis.window = {
    location: { origin: 'http://127.0.0.1:4242' },
    addEventListener: (type, listener) => type === 'message' && page.listeners.add(listener),
    removeEventListener: (type, listener) => type === 'message' && page.listeners.delete(listener),
  };
  globalThis.document = {
    documentElement: { lang },
    createElement: (tag) => element(tag.toUpperCase()),
    body: page.body,
    querySelector: (selector) => (selector === '#card' ? page.container : null),
  };
  Object.defineProperty(globalThis, 'navigator', { value: { language }, configurable: true, writable: true });
  page.frame = () => page.container.children.find((c) => c.tagName === 'IFRAME');
  page.params = () => Object.fromEntries(new URLSearchParams(new URL(page.frame().attributes.src).hash.slice(1)));
  page.receive = (data, { origin = api, source = page.frameWindow } = {}) => {
    for (const listener of [...page.listeners]) listener({ origin, source, data });
  };
  page.fromFrame = (message) => page.receive({ paygate: 1, id: page.params().id, ...message });
  return page;
}
