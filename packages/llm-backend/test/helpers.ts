import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealModel } from '../../../protocol/formats/model';
import type { Generation, GenerateRequest, LoadedModel, ModelLoader } from '../src';
import { tinyLlamaGguf, type TinyLlamaOptions } from '../tools/gguf';

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface TinyModel {
  readonly gguf: Uint8Array;
  readonly sha256: string;
  readonly dataKey: Uint8Array;
  readonly sealed: Uint8Array;
}

export function tinyModel(options: TinyLlamaOptions = {}): TinyModel {
  const gguf = tinyLlamaGguf({ seed: 7, ...options });
  const dataKey = new Uint8Array(randomBytes(32));
  return { gguf, sha256: sha256(gguf), dataKey, sealed: sealModel(dataKey, gguf) };
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'llm-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A loader that records its calls and never touches llama.cpp. */
export function spyLoader(behaviour: { fail?: Error; onLoad?: (path: string) => void } = {}): ModelLoader & { calls: string[] } {
  const calls: string[] = [];
  const loader = async (path: string): Promise<LoadedModel> => {
    calls.push(path);
    behaviour.onLoad?.(path);
    if (behaviour.fail) throw behaviour.fail;
    return fakeModel();
  };
  return Object.assign(loader, { calls });
}

/** A model that counts a token per 4 characters and answers with what `reply` says. */
export function fakeModel(reply: (r: GenerateRequest) => Promise<Generation> | Generation = () => ({ text: 'ok', promptTokens: 1, tokens: 1, stop: 'eos' })): LoadedModel & { requests: GenerateRequest[] } {
  const requests: GenerateRequest[] = [];
  return {
    requests,
    liveContexts: 0,
    countTokens: (text) => Math.ceil(text.length / 4),
    generate: async (r) => {
      requests.push(r);
      return reply(r);
    },
    dispose: async () => undefined,
  };
}

export const CHAT = {
  requester: 'Ana',
  messages: [
    { sender: 'Ana', time: '2024-06-01T10:00:00Z', text: 'Picnic on Saturday?' },
    { sender: 'Ben', time: '2024-06-01T10:01:00Z', text: 'Yes! I will bring sandwiches.' },
    { sender: 'Cai', time: '2024-06-01T10:02:00Z', text: 'We decided on 11am at the lake, right?' },
  ],
};
