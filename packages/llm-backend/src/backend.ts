// The LLM backend: ModelBackend's shape (enclave-app/features/api.ts), asynchronous.
// One generation runs at a time (the CPU is the bottleneck: two at once would both miss
// their deadlines); each gets a fresh llama.cpp context, disposed when it ends, so no
// request's tokens, KV cache or text outlive it. Only counts leave (onGeneration).

import type { Chat, ComposeRequest, ComposeResult, SummarizeResult } from '../../../protocol/features';
import { budgetFor, DEFAULT_BUDGETS, type BudgetTable } from './budgets';
import { LlmBackendError } from './errors';
import { llamaLoader, type Generation, type LoadedModel, type ModelLoader } from './llama';
import { assertGguf, openSealedModel, verifyModel, withModelFile, type ModelFileOptions } from './model-file';
import { composePrompt, summarizePrompt } from './prompts';

/** The request context the enclave's handler passes (FeatureContext in enclave-app/features/api.ts). */
export interface FeatureContext {
  readonly bucket: number;
}

/** The engine interface the enclave calls (ModelBackend in enclave-app/features/api.ts), async. */
export interface AsyncModelBackend {
  summarize(chat: Chat, context?: FeatureContext): Promise<SummarizeResult>;
  compose(request: ComposeRequest, context?: FeatureContext): Promise<ComposeResult>;
}

/** Counts of one generation: no content. */
export interface GenerationStats {
  readonly feature: 'summarize' | 'compose';
  readonly bucket: number | undefined;
  readonly promptTokens: number;
  readonly tokens: number;
  readonly stop: Generation['stop'];
}

export interface LlmBackendOptions {
  /** The model's SHA-256 (hex) as compiled into the enclave bundle. */
  readonly modelSha256: string;
  /** node-llama-cpp by default; tests inject a spy. */
  readonly loader?: ModelLoader;
  readonly file?: ModelFileOptions;
  readonly budgets?: BudgetTable;
  /**
   * An engine for the structured parts (topics, action items, decisions, questions;
   * reply suggestions), e.g. the built-in one; the LLM writes the summary and the
   * rewrite. Without one those lists are empty.
   */
  readonly base?: {
    summarize(chat: Chat): SummarizeResult | Promise<SummarizeResult>;
    compose(request: ComposeRequest): ComposeResult | Promise<ComposeResult>;
  };
  readonly onGeneration?: (stats: GenerationStats) => void;
}

/** Checks the hash (before anything reads the bytes), then the GGUF header, then loads through a private file. */
async function load(model: Uint8Array, options: LlmBackendOptions): Promise<LoadedModel> {
  verifyModel(model, options.modelSha256);
  assertGguf(model);
  return withModelFile(model, options.loader ?? llamaLoader(), options.file);
}

export class LlmBackend implements AsyncModelBackend {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly model: LoadedModel,
    private readonly options: LlmBackendOptions,
  ) {}

  /**
   * The operator path: the sealed model and its data key (as KMS released it to the
   * enclave). Decrypts, refuses a hash other than `modelSha256` before a byte is parsed,
   * loads, and wipes the plaintext copy it made.
   */
  static async fromSealedModel(dataKey: Uint8Array, sealed: Uint8Array, options: LlmBackendOptions): Promise<LlmBackend> {
    const model = openSealedModel(dataKey, sealed, options.modelSha256);
    try {
      return new LlmBackend(await load(model, options), options);
    } finally {
      model.fill(0);
    }
  }

  /**
   * The enclave path: bytes Enclave.boot already decrypted and checked (startEnclave's
   * `engine` factory). Hashed again here all the same; the caller owns and keeps them.
   */
  static async fromVerifiedModel(model: Uint8Array, options: LlmBackendOptions): Promise<LlmBackend> {
    return new LlmBackend(await load(model, options), options);
  }

  /** Contexts alive now: 0 between requests. */
  get liveContexts(): number {
    return this.model.liveContexts;
  }

  private run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new LlmBackendError('CLOSED'));
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async generate(feature: GenerationStats['feature'], bucket: number | undefined, prompt: { system: string; user: string }, started: number): Promise<string> {
    const budget = budgetFor(bucket, this.options.budgets ?? DEFAULT_BUDGETS);
    // The time limit counts from the call, so time queued behind another request counts too.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, budget.timeLimitMs - (Date.now() - started)));
    try {
      const g = await this.model.generate({ ...prompt, maxTokens: budget.outputTokens, signal: controller.signal });
      this.options.onGeneration?.({ feature, bucket, promptTokens: g.promptTokens, tokens: g.tokens, stop: g.stop });
      return g.text.trim();
    } finally {
      clearTimeout(timer);
    }
  }

  summarize(chat: Chat, context?: FeatureContext): Promise<SummarizeResult> {
    const started = Date.now();
    return this.run(async () => {
      const budget = budgetFor(context?.bucket, this.options.budgets ?? DEFAULT_BUDGETS);
      const prompt = summarizePrompt(chat, budget.promptTokens - (this.model.templateTokens ?? 0), (t) => this.model.countTokens(t));
      const summary = await this.generate('summarize', context?.bucket, prompt, started);
      const base = this.options.base ? await this.options.base.summarize(chat) : undefined;
      return {
        summary,
        topics: base?.topics ?? [],
        actionItems: base?.actionItems ?? [],
        decisions: base?.decisions ?? [],
        questions: base?.questions ?? [],
      };
    });
  }

  compose(request: ComposeRequest, context?: FeatureContext): Promise<ComposeResult> {
    const started = Date.now();
    return this.run(async () => {
      const budget = budgetFor(context?.bucket, this.options.budgets ?? DEFAULT_BUDGETS);
      const prompt = composePrompt(request, budget.promptTokens - (this.model.templateTokens ?? 0), (t) => this.model.countTokens(t));
      const text = await this.generate('compose', context?.bucket, prompt, started);
      const base = this.options.base ? await this.options.base.compose(request) : undefined;
      // A model that ends at once has nothing to change: the draft stands.
      return { text: text || request.draft.replace(/\s+/g, ' ').trim(), suggestions: base?.suggestions ?? [] };
    });
  }

  /** Waits for the request in progress, then frees the model. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.model.dispose();
  }
}

/**
 * startEnclave's `engine` option for an LLM build: the model hash is the one compiled
 * into the bundle (`__PP_MODEL_SHA256__`), never one from the parent.
 */
export function enclaveEngine(options: LlmBackendOptions): (model: Uint8Array) => Promise<LlmBackend> {
  return (model) => LlmBackend.fromVerifiedModel(model, options);
}
