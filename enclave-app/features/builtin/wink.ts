// A fresh wink-nlp instance for every request, cheaply.
//
// wink-nlp caches every token it has not seen before in its model instance (the lexeme
// list and hash of the core model, and the instance's own extrinsic lexicon), so an
// instance that read one chat keeps that chat's new words for as long as it lives. The
// engine therefore never reuses an instance: each request gets its own, dropped with
// the request.
//
// Building an instance the ordinary way decodes the 3 MB English core model again
// (about 200 ms here). Instead the core model is decoded once, frozen, and each request
// gets a copy-on-write view of it: fresh lists (copies) and fresh hashes whose
// prototype is the frozen pristine hash, so lookups of known words fall through to the
// shared model and every new word lands in the request's own objects. The pristine
// objects cannot be written (frozen), and test/enclave-app/features-isolation.test.ts
// checks that their contents and the lexeme count are unchanged after many requests.

import winkNLP, { type WinkMethods } from 'wink-nlp';
import englishModel from 'wink-eng-lite-web-model';

interface Feature {
  list: unknown[];
  hash?: Record<string, number>;
  intrinsicSize?: number;
  index?: number;
  maxIndex?: number;
}

interface CoreModel {
  features: Record<string, Feature>;
  [part: string]: unknown;
}

type LanguageModel = typeof englishModel & { core: () => CoreModel; metaCER: () => { machines: unknown } };

// The English model's loader for custom-entity metadata re-serialises a variable of its
// own module on every call (`machines = JSON.stringify(machines)`), so the string grows
// with each new instance until V8 refuses it (about 25 instances). It is called once
// here, and every instance gets that first result.
let cerMeta: { machines: unknown } | undefined;
function customEntityMeta(base: LanguageModel): { machines: unknown } {
  cerMeta ??= Object.freeze(base.metaCER());
  return { ...cerMeta };
}

/** Freezes an object and everything reachable from it (typed arrays cannot be frozen; they are only read). */
function deepFreeze(value: unknown, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value) || ArrayBuffer.isView(value)) return;
  seen.add(value);
  if (value instanceof Set) {
    for (const v of value) deepFreeze(v, seen);
  } else {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key], seen);
  }
  Object.freeze(value);
}

export class WinkFactory {
  private readonly pristine: CoreModel;
  private readonly model: LanguageModel;

  constructor() {
    const base = englishModel as LanguageModel;
    this.pristine = base.core();
    deepFreeze(this.pristine);
    const view = () => this.view();
    const meta = customEntityMeta(base);
    // The same language model, except that its core is a per-instance view.
    this.model = Object.assign(Object.create(null), base, { core: view, metaCER: () => ({ ...meta }) }) as LanguageModel;
  }

  /** A new instance, sharing nothing writable with any other. */
  fresh(): WinkMethods {
    return winkNLP(this.model as never);
  }

  /** How many lexemes the shared English model knows (it never grows). */
  get pristineLexemeCount(): number {
    return this.pristine.features.lexeme!.list.length;
  }

  /** Whether the English model knows this (lower-case) word. */
  knows(normal: string): boolean {
    return this.pristine.features.lexeme!.hash![normal] !== undefined;
  }

  /** The shared model's parts, for the isolation test's fingerprint. */
  get pristineCore(): Readonly<CoreModel> {
    return this.pristine;
  }

  private view(): CoreModel {
    const features: Record<string, Feature> = Object.create(null);
    for (const [name, f] of Object.entries(this.pristine.features)) {
      // Features with a hash grow when a new value is seen; the others are only read.
      features[name] = f.hash
        ? { ...f, list: f.list.slice(), hash: Object.create(f.hash) as Record<string, number> }
        : f;
    }
    return { ...this.pristine, features };
  }
}
