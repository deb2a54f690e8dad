-- pgbench script: charge_path.sql's create + capture, one call per database transaction (the functions are in
-- charge_path_one_call_functions.sql). Run by scripts/pgbench_charges.sh breakdown.
\set n random(1, :merchants)
SELECT id AS merchant, sandbox FROM bench_merchants WHERE n = :n \gset
SELECT bench_id('ch') AS ch, bench_id('att') AS att1, bench_id('att') AS att2, bench_id('ltx') AS ltx1,
       bench_id('ltx') AS ltx2, bench_id('aud') AS aud1, bench_id('aud') AS aud2, bench_id('aud') AS aud3,
       bench_id('evt') AS evt1, bench_id('evt') AS evt2, bench_id('tok') AS tok, md5(random()::text) || md5(random()::text) AS seen1,
       md5(random()::text) || md5(random()::text) AS seen2 \gset
-- POST /v1/charges: the replay guard, routing's reads, the pending charge, the processor's approval applied.
SELECT one_call_seen(:merchant, :seen1);
SELECT one_call_routing(:merchant, :sandbox);
SELECT one_call_tx1(:merchant, :sandbox, :ch, :att1, :aud1, :tok);
SELECT one_call_tx2(:merchant, :ch, :att1, :ltx1, :aud2, :evt1);
-- POST /v1/charges/{id}/capture: the replay guard, the claim, the capture applied.
SELECT one_call_seen(:merchant, :seen2);
SELECT one_call_tx3(:merchant, :sandbox, :ch, :att2);
SELECT one_call_tx4(:merchant, :ch, :att2, :ltx2, :aud3, :evt2);
