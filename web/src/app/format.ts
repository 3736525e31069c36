/** Times as the reader's locale writes them (file sizes: attachments/file-kinds.ts). */

const time = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The time today, else the day (chat list and messages). */
export function formatWhen(at: number, now = Date.now()): string {
  const then = new Date(at);
  return then.toDateString() === new Date(now).toDateString()
    ? time.format(then)
    : day.format(then);
}

/** Date and time, for a title or a screen reader. */
export const formatFull = (at: number): string => full.format(new Date(at));
