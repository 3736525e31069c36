/**
 * The safety number's QR code, as one SVG path of dark modules (no inline style or script, so it
 * passes the app's CSP). The encoder (npm `qr`, about 10 KB gzipped) is imported only when a
 * safety number is shown, so it is never part of the initial JavaScript.
 *
 * Decided: the code carries the 60 digits themselves (numeric mode, a version 3 code), not the
 * session's binary `qrData`: any QR reader can then check it against the digits on the other
 * phone, and the digits already commit to both sides' identity keys.
 */

/** Modules of light border around the code, as the QR standard asks. */
export const QUIET_ZONE = 4;

export interface QrDrawing {
  /** Width and height in modules, the quiet zone included. */
  readonly size: number;
  /** An SVG path of one unit square per dark module. */
  readonly path: string;
}

export async function drawQr(digits: string): Promise<QrDrawing> {
  const { encodeQR } = await import('qr');
  const modules = encodeQR(digits, 'raw', { ecc: 'medium', encoding: 'numeric' });
  const parts: string[] = [];
  modules.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (dark) parts.push(`M${x + QUIET_ZONE} ${y + QUIET_ZONE}h1v1h-1z`);
    }),
  );
  return { size: modules.length + 2 * QUIET_ZONE, path: parts.join('') };
}
