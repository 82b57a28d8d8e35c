import { DuckDBInstance, DuckDBConnection } from '@duckdb/node-api';
const ic = DuckDBInstance.prototype.closeSync, cc = DuckDBConnection.prototype.closeSync;
DuckDBInstance.prototype.closeSync = function () { const t = performance.now(); ic.call(this); console.error('instance.closeSync', (performance.now() - t).toFixed(1), 'ms'); };
DuckDBConnection.prototype.closeSync = function () { const t = performance.now(); cc.call(this); console.error('connection.closeSync', (performance.now() - t).toFixed(1), 'ms'); };
if (process.env.CKPT) {
  const orig = DuckDBInstance.prototype.closeSync;
  const { SessionStore } = await import('/work/main/dist/src/store/session-store.js');
  const close = SessionStore.prototype.close;
  SessionStore.prototype.close = async function () {
    await this.flush();
    const fs = await import('node:fs');
    try { console.error('wal bytes', fs.statSync(this.path + '.wal').size, 'db bytes', fs.statSync(this.path).size); } catch (e) { console.error('no wal'); }
    const t = performance.now();
    await this.connection.run('CHECKPOINT');
    console.error('CHECKPOINT', (performance.now() - t).toFixed(1), 'ms');
    return close.call(this);
  };
}
