// The node-llama-cpp side: load a GGUF from a path (CPU only, the prebuilt binary, no
// build, no download, llama.cpp's log silenced) and generate greedily, one request per
// context. node-llama-cpp is ESM-only: imported dynamically, so nothing loads it until a
// model is loaded.

import type { Llama, LlamaModel } from 'node-llama-cpp';
import { LlmBackendError } from './errors';

export interface GenerateRequest {
  readonly system: string;
  readonly user: string;
  readonly maxTokens: number;
  /** Aborts generation (the bucket's time limit); what was generated so far is returned. */
  readonly signal?: AbortSignal;
}

export interface Generation {
  readonly text: string;
  /** Tokens of the templated prompt. */
  readonly promptTokens: number;
  /** Tokens generated and released (at most the budget; a few held back at a stop are not counted). */
  readonly tokens: number;
  readonly stop: 'eos' | 'budget' | 'deadline';
  /** Milliseconds reading the prompt (to the first token) and generating after it. */
  readonly promptMs?: number;
  readonly generationMs?: number;
}

/** What the backend needs of a loaded model. */
export interface LoadedModel {
  /** Tokens of `text` in this model's vocabulary. */
  countTokens(text: string): number;
  /** Tokens the prompt template adds around system and user text. */
  readonly templateTokens?: number;
  generate(request: GenerateRequest): Promise<Generation>;
  /** Contexts not yet disposed (0 between requests). */
  readonly liveContexts: number;
  dispose(): Promise<void>;
}

/** Loads the model file at `path`; must not keep the file open or mapped once resolved. */
export type ModelLoader = (path: string) => Promise<LoadedModel>;

export interface LlamaLoaderOptions {
  /**
   * CPU threads per generation; default 1. ggml's threads spin while they wait for each
   * other, so on a small, shared machine more threads can be much slower: measure with
   * `npm run bench -- --threads N` before raising it.
   */
  readonly threads?: number;
  /** Fixed so a request's outcome does not depend on anything but its input. */
  readonly seed?: number;
}

let llamaInstance: Promise<Llama> | undefined;

/** Loads llama.cpp's binding once per process (the first model load does it too). */
export async function loadLlamaRuntime(): Promise<void> {
  await llama();
}

async function llama(): Promise<Llama> {
  llamaInstance ??= (async () => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    // Nothing of llama.cpp's log leaves: it can print token text while debugging.
    return getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: LlamaLogLevel.disabled, logger: () => undefined });
  })();
  return llamaInstance;
}

class LlamaLoaded implements LoadedModel {
  private live = 0;

  constructor(
    private readonly model: LlamaModel,
    private readonly options: LlamaLoaderOptions,
    readonly templateTokens: number,
  ) {}

  get liveContexts(): number {
    return this.live;
  }

  countTokens(text: string): number {
    return this.model.tokenize(text).length;
  }

  async generate(request: GenerateRequest): Promise<Generation> {
    const { LlamaChat } = await import('node-llama-cpp');
    const promptTokens = this.countTokens(request.system) + this.countTokens(request.user) + this.templateTokens + 16;
    // A context of its own: its KV cache holds this request only and is freed with it.
    this.live++;
    let context;
    try {
      context = await this.model.createContext({
        contextSize: Math.min(this.model.trainContextSize, Math.ceil((promptTokens + request.maxTokens + 1) / 64) * 64),
        sequences: 1,
        // Small batches: the time limit is checked between batches, also while the prompt is read.
        batchSize: 128,
        threads: this.options.threads ?? 1,
      });
    } catch {
      this.live--;
      throw new LlmBackendError('GENERATION_FAILED');
    }
    try {
      const chat = new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: 'auto' });
      let tokens = 0;
      let promptCount = 0;
      const start = performance.now();
      let firstAt: number | undefined;
      try {
        const result = await chat.generateResponse(
          [
            { type: 'system', text: request.system },
            { type: 'user', text: request.user },
            { type: 'model', response: [] },
          ],
          {
            maxTokens: request.maxTokens,
            temperature: 0,
            seed: this.options.seed ?? 0,
            ...(request.signal ? { signal: request.signal, stopOnAbortSignal: true } : {}),
            onToken: (t) => {
              if (firstAt === undefined) {
                firstAt = performance.now();
                promptCount = Math.max(0, chat.sequence.contextTokens.length - t.length + 1);
              }
              tokens += t.length;
            },
          },
        );
        const end = performance.now();
        if (firstAt === undefined) promptCount = chat.sequence.contextTokens.length;
        const reason = result.metadata.stopReason;
        const stop = reason === 'maxTokens' ? 'budget' : reason === 'abort' ? 'deadline' : 'eos';
        return { text: result.response, promptTokens: promptCount, tokens, stop, promptMs: (firstAt ?? end) - start, generationMs: end - (firstAt ?? end) };
      } finally {
        chat.dispose({ disposeSequence: true });
      }
    } catch (err) {
      if (err instanceof LlmBackendError) throw err;
      // The time limit fell while the prompt was still being read: nothing was generated.
      if (request.signal?.aborted) return { text: '', promptTokens: 0, tokens: 0, stop: 'deadline' };
      throw new LlmBackendError('GENERATION_FAILED');
    } finally {
      await context.dispose();
      this.live--;
    }
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/** The node-llama-cpp loader: reads the whole file (no mmap), CPU only. */
export function llamaLoader(options: LlamaLoaderOptions = {}): ModelLoader {
  return async (path: string) => {
    let model: LlamaModel;
    try {
      model = await (await llama()).loadModel({ modelPath: path, useMmap: false, useMlock: false, gpuLayers: 0 });
    } catch {
      throw new LlmBackendError('LOAD_FAILED');
    }
    const { resolveChatWrapper } = await import('node-llama-cpp');
    const empty = resolveChatWrapper(model).generateContextState({ chatHistory: [{ type: 'system', text: '' }, { type: 'user', text: '' }, { type: 'model', response: [] }] });
    return new LlamaLoaded(model, options, empty.contextText.tokenize(model.tokenizer).length);
  };
}
