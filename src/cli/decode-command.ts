import { readCapture } from '../replay/read-capture.js';

/** `netlog decode FILE...`: exit 0 when every file was read to its end, 1 otherwise. */
export async function decodeCommand(files: string[], opts: { json?: boolean }): Promise<void> {
  let failed = false;
  for (const file of files) {
    const report = await readCapture(file, () => {});
    if (report.error) failed = true;
    if (opts.json) {
      process.stdout.write(
        JSON.stringify({
          file: report.file,
          packets: report.packets,
          bytes: report.bytes,
          tally: report.tally,
          interfaces: report.interfaces,
          warnings: report.warnings.map((w) => ({ code: w.code, message: w.message })),
          error: report.error ? { code: report.error.code, message: report.error.message } : null,
        }) + '\n',
      );
      continue;
    }
    const parts = Object.entries(report.tally).map(([k, v]) => `${k}=${v}`);
    process.stdout.write(`${file}: ${report.packets} packets; ${parts.join(' ') || 'none'}\n`);
    for (const w of report.warnings) process.stderr.write(`warning ${w.code}: ${w.message}\n`);
    if (report.error) process.stderr.write(`error ${report.error.code}: ${report.error.message}\n`);
  }
  if (failed) process.exitCode = 1;
}
