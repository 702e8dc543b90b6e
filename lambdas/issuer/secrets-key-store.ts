// The issuer's keys in AWS: one Secrets Manager secret holding the records (the same JSON
// as the local file), readable by the issuer and the rotation function only, written by
// rotation alone. Each add is a new secret version; Secrets Manager keeps the history.
import { GetSecretValueCommand, PutSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { decodeIssuerKeyRecords, encodeIssuerKeyRecords, type IssuerKeyRecord, type IssuerKeyStore } from './keys';

export class SecretsIssuerKeyStore implements IssuerKeyStore {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async list(): Promise<IssuerKeyRecord[]> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      // A secret created empty by the stack (no version yet, or an empty list) holds no keys.
      return out.SecretString && out.SecretString.trim() !== '' ? decodeIssuerKeyRecords(out.SecretString) : [];
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return [];
      throw err;
    }
  }

  async add(record: IssuerKeyRecord): Promise<void> {
    await this.client.send(new PutSecretValueCommand({ SecretId: this.secretId, SecretString: encodeIssuerKeyRecords((await this.list()).concat(record)) }));
  }
}
