/**
 * Username rule, shared by client and server: after normalisation 3 to 32 characters of
 * [a-z0-9_.-], starting with a letter or a digit. ASCII only, so two names that look alike are
 * the same name or are refused (no homoglyph accounts).
 */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{2,31}$/;

export type UsernameCheck =
  | { readonly ok: true; readonly username: string }
  | { readonly ok: false; readonly reason: string };

/**
 * The one normalisation of a user id, wherever one comes in (signup, signin, `send`, `sendfile`,
 * `keys fetch`, key-shares, `block`...): trim, Unicode NFKC (full-width "ＡＬＩＣＥ" becomes
 * "ALICE"), lower-case. Group names use the same (protocol/groups.ts).
 */
export const normalizeName = (name: string): string => name.trim().normalize('NFKC').toLowerCase();

/** Pure: the normalised name, then the rule. The server runs the same function at signup/signin. */
export function checkUsername(name: string): UsernameCheck {
  const username = normalizeName(name);
  if (username.length < 3 || username.length > 32) {
    return { ok: false, reason: 'a username has 3 to 32 characters' };
  }
  if (!USERNAME_PATTERN.test(username)) {
    return {
      ok: false,
      reason: 'a username uses only a-z, 0-9, "_", "." and "-", and starts with a letter or digit',
    };
  }
  return { ok: true, username };
}
