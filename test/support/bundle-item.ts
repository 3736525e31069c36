/** A published key bundle as the users table stores it (tests that swap a user's keys). */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { bundleToWire } from '../../client/crypto/keys';

export function bundleItem(wire: ReturnType<typeof bundleToWire>): AttributeValue {
  return {
    M: {
      userId: { S: wire.userId },
      identityDh: { S: wire.identityDh },
      identitySign: { S: wire.identitySign },
      signedPrekey: {
        M: {
          id: { N: String(wire.signedPrekey.id) },
          publicKey: { S: wire.signedPrekey.publicKey },
          signature: { S: wire.signedPrekey.signature },
          createdAt: { N: String(wire.signedPrekey.createdAt) },
        },
      },
    },
  };
}
