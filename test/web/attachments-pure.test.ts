import { describe, expect, it } from 'vitest';
import { newMessageId } from '../../client/session/direct';
import { formatFileSize, previewKind } from '../../web/src/screens/chat/attachments/file-kinds';

describe('attachments, pure parts', () => {
  it('writes sizes in decimal units of the reader’s locale', () => {
    expect(formatFileSize(0, 'en')).toBe('0 byte');
    expect(formatFileSize(999, 'en')).toBe('999 byte');
    expect(formatFileSize(70_000, 'en')).toBe('70 kB');
    expect(formatFileSize(20 * 1024 * 1024, 'en')).toBe('21 MB');
    expect(formatFileSize(1_500_000, 'de')).toBe('1,5 MB');
  });

  it('previews images, videos and audio, and never SVG (it can carry script)', () => {
    expect(previewKind('image/png')).toBe('image');
    expect(previewKind('image/svg+xml')).toBe('none');
    expect(previewKind('video/webm')).toBe('video');
    expect(previewKind('audio/webm;codecs=opus')).toBe('audio');
    expect(previewKind('application/pdf')).toBe('none');
  });

  it('sends under a message id the UI chose (a UUID), or a fresh one', () => {
    const chosen = crypto.randomUUID();
    expect(newMessageId({ messageId: chosen })).toBe(chosen);
    expect(newMessageId({})).toMatch(/^[0-9a-f-]{36}$/);
    expect(newMessageId({})).not.toBe(newMessageId({}));
    expect(() => newMessageId({ messageId: 'not-a-uuid' })).toThrow(/UUID/);
  });
});
