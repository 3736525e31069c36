/**
 * The strength rule for new passwords (issue 9 point 5). The server sees the auth key at every
 * sign-in and stores the backup, so it can guess passwords offline at one Argon2id each: the
 * client core, not only a UI, refuses new passwords that zxcvbn scores below 3 (docs/SECURITY.md
 * has what a guessing server pays per score). zxcvbn-ts with its common and English dictionaries
 * (without them `sunshine1` and `password1` score 3) is about 9 MB of source, so it is loaded
 * with a dynamic import the first time a password is checked: a page that never asks for a new
 * password never downloads it, and a bundler puts it in a chunk of its own.
 */
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/** Characters (after NFKC), a floor under the score: zxcvbn rates some short random strings 3. */
export const MIN_PASSWORD_LENGTH = 8;
/** zxcvbn's score 3: "safely unguessable: moderate protection from offline slow-hash scenario"
 * (guesses ≥ 10^8). */
export const MIN_PASSWORD_SCORE = 3;

export interface PasswordVerdict {
  readonly ok: boolean;
  /** zxcvbn's score, 0 to 4 (0 for a password under the minimum length). */
  readonly score: number;
  /** zxcvbn's estimate of the guesses an attacker needs, as log10. */
  readonly guessesLog10: number;
  /** Why it was refused, in words a user can act on (absent when ok). */
  readonly reason?: string;
  /** zxcvbn's suggestions (English). */
  readonly suggestions: readonly string[];
}

let estimator: Promise<ZxcvbnFactory> | undefined;

/** Loads zxcvbn and its dictionaries once, on first use. */
function loadEstimator(): Promise<ZxcvbnFactory> {
  estimator ??= Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
  ]).then(
    ([core, common, en]) =>
      new core.ZxcvbnFactory({
        dictionary: { ...common.dictionary, ...en.dictionary },
        graphs: common.adjacencyGraphs,
        translations: en.translations,
        useLevenshteinDistance: true,
      }),
  );
  return estimator;
}

/**
 * Judges a new password (signup, password change). `userInputs` are words a guesser would try
 * first for this account: the username, the app's name. Signin never calls this, so a rule
 * change never locks anyone out.
 */
export async function checkNewPassword(
  password: string,
  userInputs: readonly string[] = [],
): Promise<PasswordVerdict> {
  const normalised = password.normalize('NFKC');
  if ([...normalised].length < MIN_PASSWORD_LENGTH) {
    return {
      ok: false,
      score: 0,
      guessesLog10: 0,
      reason: `a password has at least ${MIN_PASSWORD_LENGTH} characters`,
      suggestions: ['Use a few unrelated words.'],
    };
  }
  const zxcvbn = await loadEstimator();
  const result = await zxcvbn.checkAsync(normalised, ['cipherline', ...userInputs]);
  const ok = result.score >= MIN_PASSWORD_SCORE;
  return {
    ok,
    score: result.score,
    guessesLog10: result.guessesLog10,
    ...(!ok && {
      reason: `this password is too easy to guess${result.feedback.warning ? ` (${result.feedback.warning})` : ''}: add more words or characters`,
    }),
    suggestions: result.feedback.suggestions,
  };
}
