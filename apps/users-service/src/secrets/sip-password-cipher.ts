import { SecretCipher } from '@ringcloud/secret-cipher';

/**
 * SIP passwords must be readable again (v1 returns them to RW keys), so they are encrypted with the
 * shared AES-256-GCM cipher (SIP_SECRET_KEY), the user name as associated data.
 */
export class SipPasswordCipher extends SecretCipher {
  constructor(key: Buffer) {
    super(key, 'SIP secret key');
  }
}
