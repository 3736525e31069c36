/** How a file is described and shown in a chat: its size in words, its kind of preview. */

const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;

/** "1.5 MB" in the reader's locale (decimal units, as file managers on phones show them). */
export function formatFileSize(bytes: number, locale?: string): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return new Intl.NumberFormat(locale, {
    style: 'unit',
    unit: UNITS[unit],
    unitDisplay: 'short',
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}

/** What kind of preview a file gets after decryption. */
export function previewKind(mimeType: string): 'image' | 'video' | 'audio' | 'none' {
  // SVG can carry script; it is offered for saving, never shown inline.
  if (mimeType.startsWith('image/') && mimeType !== 'image/svg+xml') return 'image';
  if (mimeType.startsWith('video/')) return 'video';
  if (mimeType.startsWith('audio/')) return 'audio';
  return 'none';
}

/** Videos and audio up to this size load their metadata (length, first frame) at once. */
export const PRELOAD_LIMIT = 32 * 1024 * 1024;
