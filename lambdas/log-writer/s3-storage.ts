// The log's files in S3 (the TransparencyStack's bucket, served through CloudFront). The
// log writer is the only writer. Every path but the checkpoint is immutable once written
// (tiles and entry bundles are named by their width), so those are cached for a year;
// the checkpoint for ten seconds. The bucket's Object Lock keeps every version.
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CHECKPOINT_PATH } from '../../protocol';
import { checkPath, type LogStorage } from './storage';

export class S3Storage implements LogStorage {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  private check(path: string): string {
    checkPath(path);
    return path;
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.check(path) }));
      return out.Body ? new Uint8Array(await out.Body.transformToByteArray()) : new Uint8Array();
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.check(path),
        Body: data,
        ContentType: path === CHECKPOINT_PATH || path.startsWith('checkpoints/') ? 'text/plain; charset=utf-8' : 'application/octet-stream',
        CacheControl: path === CHECKPOINT_PATH ? 'public, max-age=10' : 'public, max-age=31536000, immutable',
      }),
    );
  }
}
