// The whole private path (moved to local/worlds, which the local stack uses too), and a
// per-file fixture for tests.
import { privatePathWorld, type PrivatePath } from '../../local/worlds/private-path';

export * from '../../local/worlds/private-path';

/** Starts one private path for the test file (beforeAll) and stops it (afterAll). */
export function usePrivatePath(options: Parameters<typeof privatePathWorld>[0] = {}): () => PrivatePath {
  let world: PrivatePath | undefined;
  beforeAll(async () => {
    world = await privatePathWorld(options);
  }, 60_000);
  afterAll(async () => {
    await world?.stop();
  });
  return () => world!;
}
