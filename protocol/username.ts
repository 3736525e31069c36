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
 * Pure: trim, Unicode NFKC (full-width "ＡＬＩＣＥ" becomes "ALICE"), lower-case, then the rule.
 * The server runs the same function on what signup/signin send.
 */
export function checkUsername(name: string): UsernameCheck {
  const username = name.trim().normalize('NFKC').toLowerCase();
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
