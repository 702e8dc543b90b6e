// The built-in engine's model file: thresholds, cue phrases and tone rules (model.json).
// The English language model itself (wink-eng-lite-web-model) is code inside the
// bundle, measured into PCR0; this file is what a release seals under its model key and
// compiles the SHA-256 of, so tuning the engine's behaviour is a new, logged release.

export const MODEL_FORMAT = 'pp-builtin-engine/1';

type Phrases = readonly string[];
type Replies = Readonly<Record<string, Phrases>>;

export interface EngineModel {
  readonly format: typeof MODEL_FORMAT;
  readonly language: { readonly minWords: number; readonly minEnglishShare: number; readonly minStopWordShare: number };
  readonly summary: {
    readonly maxTopics: number;
    readonly topicsInSummary: number;
    readonly quotesPerTopic: number;
    readonly maxQuoteChars: number;
    readonly maxActionItems: number;
    readonly maxDecisions: number;
    readonly maxQuestions: number;
    readonly replyWindow: number;
    readonly namesInSummary: number;
  };
  readonly cues: {
    readonly commitment: Phrases;
    readonly commitmentVerbsExcluded: Phrases;
    readonly skipBeforeVerb: Phrases;
    readonly acceptanceCommitment: Phrases;
    readonly acceptance: Phrases;
    readonly agreement: Phrases;
    readonly refusal: Phrases;
    readonly withdrawal: Phrases;
    readonly handover: Phrases;
    readonly decision: Phrases;
    readonly proposal: Phrases;
    readonly change: Phrases;
    readonly sarcasm: Phrases;
    readonly groupAddress: Phrases;
    readonly secondPerson: Phrases;
    readonly questionWords: Phrases;
    readonly rhetorical: Phrases;
  };
  readonly topics: { readonly minLength: number; readonly excluded: Phrases };
  readonly compose: {
    readonly misspellings: Readonly<Record<string, string>>;
    readonly alwaysCapitalised: Phrases;
    readonly formal: { readonly replace: Readonly<Record<string, string>>; readonly drop: Phrases; readonly expandContractions: boolean; readonly dropEmoji: boolean };
    readonly concise: { readonly dropPhrases: Phrases; readonly contract: Readonly<Record<string, string>>; readonly dropEmoji: boolean };
    readonly friendly: { readonly greeting: string; readonly greetingWords: Phrases; readonly exclaimLast: boolean };
  };
  readonly replies: Replies & { readonly formal: Replies; readonly concise: Replies };
}

class ModelFileError extends Error {}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPhrases = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isStringMap = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((s) => typeof s === 'string');
const isRepliesMap = (v: unknown): boolean => v !== null && typeof v === 'object' && Object.entries(v).every(([k, r]) => k === 'formal' || k === 'concise' || (isPhrases(r) && (r as unknown[]).length <= 3));

/** Parses and checks the model file (already decrypted and hash-checked); throws on anything unexpected. */
export function parseEngineModel(bytes: Uint8Array): EngineModel {
  let m: EngineModel;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as EngineModel;
  } catch {
    throw new ModelFileError('the model file is not JSON');
  }
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  need(m?.format === MODEL_FORMAT, 'format');
  need(!!m.language && ['minWords', 'minEnglishShare', 'minStopWordShare'].every((k) => isNumber((m.language as unknown as Record<string, unknown>)[k])), 'language');
  need(!!m.summary && Object.values(m.summary).every((v) => isNumber(v) && v >= 0), 'summary');
  need(!!m.cues && Object.values(m.cues).every(isPhrases), 'cues');
  need(!!m.topics && isNumber(m.topics.minLength) && isPhrases(m.topics.excluded), 'topics');
  const c = m.compose;
  need(!!c && isStringMap(c.misspellings) && isPhrases(c.alwaysCapitalised), 'compose');
  need(!!c?.formal && isStringMap(c.formal.replace) && isPhrases(c.formal.drop), 'compose.formal');
  need(!!c?.concise && isPhrases(c.concise.dropPhrases) && isStringMap(c.concise.contract), 'compose.concise');
  need(!!c?.friendly && typeof c.friendly.greeting === 'string' && isPhrases(c.friendly.greetingWords), 'compose.friendly');
  need(!!m.replies && isRepliesMap(m.replies) && isRepliesMap(m.replies.formal) && isRepliesMap(m.replies.concise) && isPhrases(m.replies.statement), 'replies');
  if (problems.length > 0) throw new ModelFileError(`the model file is not a ${MODEL_FORMAT} model (${problems.join(', ')})`);
  return m;
}
