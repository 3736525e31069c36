/**
 * Contacts with pinned keys (DESIGN.md section 4): a contact's identity keys are pinned the first
 * time this account meets them (trust on first use) and kept in the backup, so every device of the
 * account and every new one holds the same pins. A bundle whose identity keys differ from the pin
 * raises a `key-change` event once, is kept aside, and is refused (IDENTITY_CHANGED) until the user
 * compares safety numbers and accepts it. Bundles are cached for at most BUNDLE_MAX_CACHE_AGE_MS
 * (senders must refetch after that) and refetched at once on request.
 */
import type { KeysFetchReply, PublicBundleWire as BundleWire } from '../../protocol/commands';
import { CryptoError } from '../../protocol/crypto-error';
import {
  BUNDLE_MAX_CACHE_AGE_MS,
  bundleFromWire,
  checkSignedPrekeyAge,
  ownVerifiedBundle,
  pinnedIdentityOf,
  verifyBundle,
  type LocalKeys,
  type PinnedIdentity,
  type VerifiedBundle,
} from '../crypto/keys';
import { computeSafetyNumber, formatSafetyNumber } from '../crypto/safety';
import type { DeviceState } from './device-state';
import { CipherlineError, ServerError } from './errors';
import type { EventStream } from './events';
import type { Clock } from './ports';
import type { CallServer } from './rpc';

export interface ContactsDeps {
  readonly state: DeviceState;
  readonly call: CallServer<'keys'>;
  readonly clock: Clock;
  readonly events: EventStream;
  readonly me: () => LocalKeys;
  /** A pin was added or changed: the backup must follow. */
  readonly pinsChanged: () => void;
}

export interface SafetyNumberView {
  readonly userId: string;
  /** 60 digits in 12 groups of 5, the same on both sides. */
  readonly formatted: string;
  readonly digits: string;
  /** What a QR code would carry (version ‖ my fingerprint ‖ theirs). */
  readonly qrData: Uint8Array;
  /** When the contact's keys changed and the change is not accepted: the new number. */
  readonly changed?: { readonly formatted: string; readonly digits: string };
}

export class Contacts {
  constructor(private readonly deps: ContactsDeps) {}

  /**
   * The contact's verified bundle, fetched when not cached or too old (or when `refresh`), pinned
   * on first use. IDENTITY_CHANGED when the keys differ from the pin; NOT_FOUND for no such user.
   */
  async bundle(
    userId: string,
    options: { refresh?: boolean; served?: BundleWire } = {},
  ): Promise<VerifiedBundle> {
    const me = this.deps.me();
    if (userId === me.userId) return ownVerifiedBundle(me);
    const now = this.deps.clock.now();
    const cached = await this.deps.state.bundle(userId);
    const fresh =
      !options.refresh &&
      !options.served &&
      cached !== undefined &&
      now - cached.fetchedAt < BUNDLE_MAX_CACHE_AGE_MS;
    const wire = fresh ? cached.bundle : (options.served ?? (await this.#fetch(userId)));
    const verified = await this.#verify(userId, wire);
    if (!fresh) await this.deps.state.setBundle(userId, { bundle: wire, fetchedAt: now });
    return verified;
  }

  /** The bundle to seal to: also refuses a prekey too old or from the future (refetching once). */
  async bundleToSealTo(userId: string): Promise<VerifiedBundle> {
    let bundle = await this.bundle(userId);
    try {
      checkSignedPrekeyAge(bundle, this.deps.clock.now());
    } catch {
      bundle = await this.bundle(userId, { refresh: true });
      checkSignedPrekeyAge(bundle, this.deps.clock.now());
    }
    return bundle;
  }

  /** The pinned identity of a user (mine for myself), if any. */
  async pinned(userId: string): Promise<PinnedIdentity | undefined> {
    const me = this.deps.me();
    if (userId === me.userId)
      return { identityDh: me.identityDh.publicKey, identitySign: me.identitySign.publicKey };
    return this.deps.state.pin(userId);
  }

  async safetyNumber(userId: string): Promise<SafetyNumberView> {
    const me = this.deps.me();
    let pin = await this.deps.state.pin(userId);
    if (!pin) {
      await this.bundle(userId); // pins on first use
      pin = await this.deps.state.pin(userId);
    }
    if (!pin) throw new CipherlineError('NOT_FOUND', `No keys are known for ${userId}.`);
    const mine = {
      userId: me.userId,
      identityDh: me.identityDh.publicKey,
      identitySign: me.identitySign.publicKey,
    };
    const number = await computeSafetyNumber(mine, { userId, ...pin });
    const change = await this.deps.state.keyChange(userId);
    const changedNumber =
      change &&
      (await computeSafetyNumber(mine, { userId, ...pinnedIdentityOf(bundleFromWire(change)) }));
    return {
      userId,
      digits: number.digits,
      formatted: formatSafetyNumber(number.digits),
      qrData: number.qrData,
      ...(changedNumber && {
        changed: {
          digits: changedNumber.digits,
          formatted: formatSafetyNumber(changedNumber.digits),
        },
      }),
    };
  }

  /** Trusts the changed keys of `userId` (after comparing safety numbers): they become the pin. */
  async acceptKeyChange(userId: string): Promise<void> {
    const change = await this.deps.state.keyChange(userId);
    if (!change)
      throw new CipherlineError('INVALID_INPUT', `The keys of ${userId} have not changed.`);
    const bundle = await verifyBundle(bundleFromWire(change));
    await this.deps.state.setPin(userId, {
      ...pinnedIdentityOf(bundle),
      acceptedAt: this.deps.clock.now(),
    });
    await this.deps.state.setBundle(userId, { bundle: change, fetchedAt: this.deps.clock.now() });
    await this.deps.state.clearKeyChange(userId);
    this.deps.pinsChanged();
  }

  async #fetch(userId: string): Promise<BundleWire> {
    try {
      const reply = await this.deps.call<'keys', KeysFetchReply>('keys', {
        op: 'fetch',
        userId,
      });
      return reply.bundle;
    } catch (error) {
      if (error instanceof ServerError && error.code === 'NOT_FOUND')
        throw new ServerError(
          'NOT_FOUND',
          `There is no user ${userId} (or they have no keys yet).`,
        );
      throw error;
    }
  }

  async #verify(userId: string, wire: BundleWire): Promise<VerifiedBundle> {
    if (wire.userId !== userId)
      throw new CipherlineError(
        'PROTOCOL',
        `The server sent the keys of ${wire.userId} for ${userId}.`,
      );
    const pin = await this.deps.state.pin(userId);
    try {
      const bundle = await verifyBundle(bundleFromWire(wire), pin);
      // The keys are the pinned ones again (a false bundle was served once): nothing to accept.
      if (pin && (await this.deps.state.keyChange(userId)))
        await this.deps.state.clearKeyChange(userId);
      if (!pin) {
        await this.deps.state.setPin(userId, {
          ...pinnedIdentityOf(bundle),
          acceptedAt: this.deps.clock.now(),
        });
        this.deps.pinsChanged();
      }
      return bundle;
    } catch (error) {
      if (!(error instanceof CryptoError) || error.code !== 'IDENTITY_CHANGED') throw error;
      const known = await this.deps.state.keyChange(userId);
      await this.deps.state.setKeyChange(userId, wire);
      if (
        !known ||
        known.identityDh !== wire.identityDh ||
        known.identitySign !== wire.identitySign
      )
        this.deps.events.emit({ type: 'key-change', userId });
      throw new CipherlineError(
        'IDENTITY_CHANGED',
        `The keys of ${userId} have changed. Compare safety numbers with ${userId} before you trust them; nothing is sent to or accepted from the new keys until then.`,
        'IDENTITY_CHANGED',
      );
    }
  }
}
