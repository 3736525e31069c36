/**
 * The state of the sign-up and sign-in forms: what is typed, the strength verdict, the step
 * (a restore on a new browser may need the recovery key), what went wrong. The rules are the
 * client core's (password-strength.ts, the session's errors); this only holds them for the markup.
 */
import {
  MIN_PASSWORD_LENGTH,
  checkNewPassword,
  type PasswordVerdict,
} from '../../../../client/crypto/password-strength';
import { asCipherlineError } from '../../../../client/session/errors';
import type { Session } from '../../app/session.svelte';

export class SignUpForm {
  username = $state('');
  password = $state('');
  withRecoveryKey = $state(false);
  verdict = $state<PasswordVerdict | undefined>();
  busy = $state(false);
  error = $state<string | undefined>();
  #checked = 0;

  get tooShort(): boolean {
    return [...this.password.normalize('NFKC')].length < MIN_PASSWORD_LENGTH;
  }

  get canSubmit(): boolean {
    return !this.busy && this.username.trim() !== '' && !this.tooShort;
  }

  /** Re-judges the password as it is typed (zxcvbn loads on the first call). */
  async judge(): Promise<void> {
    const ticket = ++this.#checked;
    const password = this.password;
    if (password === '') {
      this.verdict = undefined;
      return;
    }
    const verdict = await checkNewPassword(password, [this.username.trim().toLowerCase()]);
    if (ticket === this.#checked) this.verdict = verdict;
  }

  async submit(session: Session): Promise<boolean> {
    this.error = undefined;
    this.busy = true;
    try {
      await session.signup({
        username: this.username.trim(),
        password: this.password,
        recoveryKey: this.withRecoveryKey,
      });
      this.password = '';
      return true;
    } catch (error) {
      this.error = asCipherlineError(error).message;
      return false;
    } finally {
      this.busy = false;
    }
  }
}

export class SignInForm {
  username = $state('');
  password = $state('');
  recoveryKey = $state('');
  /** The account's keys are sealed with a recovery key, and this browser has none of them. */
  needsRecoveryKey = $state(false);
  busy = $state(false);
  error = $state<string | undefined>();

  get canSubmit(): boolean {
    return (
      !this.busy &&
      this.username.trim() !== '' &&
      this.password !== '' &&
      (!this.needsRecoveryKey || this.recoveryKey.trim() !== '')
    );
  }

  async submit(session: Session): Promise<void> {
    this.error = undefined;
    this.busy = true;
    try {
      await session.signin({
        username: this.username.trim(),
        password: this.password,
        ...(this.needsRecoveryKey && { recoveryKey: this.recoveryKey.trim() }),
      });
      this.password = '';
      this.recoveryKey = '';
    } catch (error) {
      const failure = asCipherlineError(error);
      if (failure.code === 'RECOVERY_KEY_NEEDED') this.needsRecoveryKey = true;
      this.error = failure.message;
    } finally {
      this.busy = false;
    }
  }
}
