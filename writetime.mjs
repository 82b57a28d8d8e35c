const { SessionStore } = await import('/work/main/dist/src/store/session-store.js');
const w = SessionStore.prototype.write;
SessionStore.prototype.write = async function (b, rows) { const t = performance.now(); await w.call(this, b, rows); console.error('write', rows, (performance.now() - t).toFixed(0), 'ms'); };
if (process.env.THREADS) {
  const open = SessionStore.open;
  SessionStore.open = async function (...a) { const s = await open.apply(this, a); await s.connection.run(process.env.THREADS); return s; };
}
