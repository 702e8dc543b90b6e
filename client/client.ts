// PrivateProcessingClient: what an app embeds. Nothing happens on the network until the
// user opts in; a chat with Advanced Chat Privacy is refused before anything is encoded;
// every request is preceded by the verification pipeline (client/verify.ts), and any
// failure there is a TamperAlert, with nothing sent.

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  COMPOSE_RESULT_SCHEMA,
  LIMITS,
  MEDIA_TYPE_OHTTP_REQUEST,
  SUMMARIZE_RESULT_SCHEMA,
  TONES,
  conforms,
  decodeBhttpResponse,
  encapsulateRequest,
  encodeBhttpRequest,
  padToBucket,
  parseCosignerKey,
  parseVerifierKey,
  type Chat,
  type ComposeResult,
  type SummarizeResult,
  type Tone,
} from '../protocol';
import { ChatPrivate, ClientError, NotOptedIn, TamperAlert, Unavailable } from './errors';
import { LogSync, LogSyncError, type LiveSet } from './log/sync';
import { isStale, verifyBundle, type VerifiedKey } from './verify';
import { TokenWallet, type WalletSchedule } from './wallet';

declare const __PP_BUILD__: string | undefined;

/** True unless this is a production build, which leaves local mode out. */
export function localModeAvailable(): boolean {
  return typeof __PP_BUILD__ === 'undefined' || __PP_BUILD__ !== 'production';
}

export interface PrivateProcessingConfig {
  /** Relay base URLs, pinned in the app (an independent party runs them). */
  readonly relayUrls: readonly string[];
  /** The issuer's token-request URL (reached with the account credential). */
  readonly issuerUrl: string;
  readonly issuerName: string;
  /** The gateway's origin name in the token challenge. */
  readonly originName: string;
  readonly log: {
    readonly origin: string;
    readonly logKey: string;
    readonly witnessKeys: readonly string[];
    readonly quorum: number;
    /** 72 hours in production. */
    readonly publicationDelayMs: number;
    readonly maxCosignatureAgeMs?: number;
  };
  /** The account credential for the issuer (a JWT from the messenger's account service). */
  readonly accountCredential: () => Promise<string>;
  /** Explicit local mode: trust the attestation emulator's root instead of AWS's. Absent from production builds. */
  readonly local?: { readonly attestationRootPem: string };
  readonly wallet?: Partial<WalletSchedule>;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** A chat as the messenger holds it: the messages and the chat's settings. */
export interface ChatInput extends Chat {
  readonly id: string;
  /** Carried to every member's client with the chat's settings; any participant may turn it on. */
  readonly advancedChatPrivacy?: boolean;
}

export interface ComposeInput {
  readonly draft: string;
  readonly tone?: Tone;
  /** The chat being replied in: its last message gives context, and its privacy setting applies. */
  readonly chat?: ChatInput;
}

export interface ClientEvents {
  tamper: [TamperAlert];
}

const MAX_ATTEMPTS = 2;

export class PrivateProcessingClient extends EventEmitter<ClientEvents> {
  private optedIn = false;
  private readonly privateChats = new Set<string>();
  private log: LogSync | undefined;
  /** The relay that answered last (relayUrls index). */
  private relayIndex = 0;
  /** The live set of the last successful sync. */
  private live: LiveSet | undefined;
  private verified: VerifiedKey | undefined;
  private readonly wallet: TokenWallet;
  private readonly fetcher: typeof fetch;

  constructor(private readonly config: PrivateProcessingConfig) {
    super();
    if (config.relayUrls.length === 0) throw new Error('at least one relay URL is required');
    for (const url of [...config.relayUrls, config.issuerUrl]) new URL(url);
    // Pinned keys are checked now: a bad pin is a configuration error, not a tamper alert later.
    parseVerifierKey(config.log.logKey);
    config.log.witnessKeys.forEach(parseCosignerKey);
    if (config.local && !localModeAvailable()) throw new Error('local mode is not available in a production build');
    this.fetcher = config.fetch ?? fetch;
    this.wallet = new TokenWallet({
      issuerUrl: config.issuerUrl,
      issuerName: config.issuerName,
      originName: config.originName,
      credential: config.accountCredential,
      fetch: this.fetcher,
      issuerKeys: async (fresh) => {
        const live = !fresh && this.live ? this.live : await this.liveSet();
        return { ...(live.currentIssuerKey ? { current: live.currentIssuerKey } : {}), ...(live.previousIssuerKey ? { previous: live.previousIssuerKey } : {}) };
      },
      ...(config.wallet ? { schedule: config.wallet } : {}),
    });
  }

  private now(): number {
    return (this.config.now ?? Date.now)();
  }

  /** The user agreed: from now on the SDK may sync the log and fetch tokens on its schedule. */
  optIn(): void {
    this.optedIn = true;
    this.wallet.start();
  }

  /** The user withdrew: tokens, the synced log and the verified key are dropped. */
  optOut(): void {
    this.optedIn = false;
    this.wallet.stop();
    this.log = undefined;
    this.live = undefined;
    this.verified = undefined;
  }

  get isOptedIn(): boolean {
    return this.optedIn;
  }

  /** Tokens in the wallet now (they arrive on the wallet's schedule after opt-in). */
  get tokensAvailable(): number {
    return this.wallet.size;
  }

  /** Sets Advanced Chat Privacy for a chat as this client knows it (it also honours the chat's own setting). */
  setChatPrivacy(chatId: string, settings: { advanced: boolean }): void {
    if (settings.advanced) this.privateChats.add(chatId);
    else this.privateChats.delete(chatId);
  }

  async summarize(chat: ChatInput): Promise<SummarizeResult> {
    this.admit(chat);
    if (typeof chat.requester !== 'string' || !Array.isArray(chat.messages) || chat.messages.length > LIMITS.messages) throw new ClientError('INVALID_INPUT');
    const messages = chat.messages.map((m) => ({ sender: m.sender, time: m.time, text: m.text }));
    return (await this.call('/v1/summarize', { v: 1, chat: { requester: chat.requester, messages } })) as SummarizeResult;
  }

  async compose(input: ComposeInput): Promise<ComposeResult> {
    this.admit(input.chat);
    const tone = input.tone ?? 'friendly';
    if (typeof input.draft !== 'string' || input.draft.length > LIMITS.draft || !TONES.includes(tone)) throw new ClientError('INVALID_INPUT');
    const last = input.chat?.messages.at(-1)?.text;
    return (await this.call('/v1/compose', { v: 1, draft: input.draft, tone, ...(last !== undefined ? { lastMessage: last } : {}) })) as ComposeResult;
  }

  /** Opt-in and chat privacy, checked before anything is encoded or sent. */
  private admit(chat: ChatInput | undefined): void {
    if (!this.optedIn) throw new NotOptedIn();
    if (chat && (chat.advancedChatPrivacy === true || this.privateChats.has(chat.id))) throw new ChatPrivate();
  }

  // ---------------------------------------------------------------------------
  // Verification.

  /**
   * Through the pinned relays: the one that last answered first, then the others in order
   * when a relay cannot be reached at all. An answer of any status ends the search: a relay
   * that answers is up, and what it says comes from the gateway. Resending the same
   * ciphertext through another relay is safe: the gateway spends a token once and the
   * enclave opens an encapsulation once.
   */
  private async relayFetch(path: string, init?: RequestInit): Promise<Response> {
    const relays = this.config.relayUrls;
    let lastError: unknown;
    for (let i = 0; i < relays.length; i++) {
      const index = (this.relayIndex + i) % relays.length;
      try {
        const response = await this.fetcher(`${relays[index]!.replace(/\/+$/, '')}${path}`, init);
        this.relayIndex = index;
        return response;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  private async liveSet(): Promise<LiveSet> {
    if (!this.optedIn) throw new NotOptedIn();
    if (!this.log) {
      this.log = new LogSync({
        ...this.config.log,
        fetch: async (path) => {
          const res = await this.relayFetch(`/log/${path}`);
          if (res.status === 404) return undefined;
          if (res.status !== 200) throw new Error(`log fetch ${res.status}`);
          return new Uint8Array(await res.arrayBuffer());
        },
        now: () => this.now(),
      });
    }
    try {
      await this.log.sync();
    } catch (err) {
      if (err instanceof LogSyncError && err.code === 'UNAVAILABLE') throw new Unavailable('NETWORK', undefined, 'the log could not be fetched');
      const alert = new TamperAlert('log', err instanceof LogSyncError ? err.code : 'FAILED', { logSize: this.log.state().size });
      throw this.alert(alert);
    }
    this.live = this.log.liveSet(this.now());
    return this.live;
  }

  private alert(alert: TamperAlert): TamperAlert {
    this.verified = undefined;
    this.emit('tamper', alert);
    return alert;
  }

  private async fetchBundle(): Promise<Uint8Array> {
    let res: Response;
    try {
      res = await this.relayFetch('/v1/keys');
    } catch {
      throw new Unavailable('NETWORK');
    }
    if (res.status !== 200) throw new Unavailable('SERVICE', retryAfterOf(res));
    return new Uint8Array(await res.arrayBuffer());
  }

  /** The verified key to encrypt to, re-verified once its attestation or binding ages out. */
  private async key(): Promise<VerifiedKey> {
    if (this.verified && this.now() < this.verified.validUntil) return this.verified;
    const live = await this.liveSet();
    const options = { now: new Date(this.now()), ...(this.config.local ? { trustAnchorPem: this.config.local.attestationRootPem } : {}) };
    try {
      this.verified = await verifyBundle(await this.fetchBundle(), live, options);
    } catch (err) {
      if (!(err instanceof TamperAlert)) throw err;
      if (!isStale(err)) throw this.alert(err);
      // An old attestation may be a cache: one fresh bundle, then it is tampering.
      try {
        this.verified = await verifyBundle(await this.fetchBundle(), live, options);
      } catch (again) {
        throw again instanceof TamperAlert ? this.alert(again) : again;
      }
    }
    return this.verified;
  }

  // ---------------------------------------------------------------------------
  // Requests.

  private async call(path: string, body: unknown): Promise<unknown> {
    const content = new TextEncoder().encode(JSON.stringify(body));
    let lastError: Error = new Unavailable('SERVICE');
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const key = await this.key();
      const token = await this.wallet.take();
      if (!token) throw new Unavailable('NO_TOKENS', undefined, 'no tokens in the wallet yet');
      // A fresh encapsulation and a fresh token for every attempt: never the same bytes twice.
      const bhttp = encodeBhttpRequest({
        method: 'POST',
        scheme: 'https',
        authority: this.config.originName,
        path,
        headers: [
          { name: 'content-type', value: 'application/json' },
          { name: 'date', value: new Date(this.now()).toUTCString() },
        ],
        content,
        trailers: [],
      });
      const { encapsulated, context } = await encapsulateRequest(key.keyConfig, padToBucket(bhttp));
      let res: Response;
      try {
        res = await this.relayFetch('/v1/ohttp', {
          method: 'POST',
          headers: {
            'content-type': MEDIA_TYPE_OHTTP_REQUEST,
            'private-token': Buffer.from(token).toString('base64url'),
            // CloudFront origin access control signs the body with this hash.
            'x-amz-content-sha256': createHash('sha256').update(encapsulated).digest('hex'),
          },
          body: encapsulated,
        });
      } catch {
        lastError = new Unavailable('NETWORK');
        continue;
      }
      const answer = new Uint8Array(await res.arrayBuffer());
      if (res.status === 200) {
        const inner = decodeBhttpResponse(await context.decapsulateResponse(answer));
        const json = JSON.parse(new TextDecoder().decode(inner.content)) as { error?: string; message?: unknown };
        // A refusal may carry a fixed sentence for the user (e.g. UNSUPPORTED_LANGUAGE).
        const said = typeof json.message === 'string' ? ` (${json.message.slice(0, 200)})` : '';
        if (inner.status !== 200) throw new ClientError('REFUSED', `the enclave refused: ${json.error ?? inner.status}${said}`);
        if (!conforms(path === '/v1/summarize' ? SUMMARIZE_RESULT_SCHEMA : COMPOSE_RESULT_SCHEMA, json)) throw new ClientError('REFUSED', 'the answer does not have the declared shape');
        return json;
      }
      const code = codeOf(answer);
      if (res.status === 401 || res.status === 503 || res.status === 502 || res.status === 504) {
        // A token problem or no worker: retry once, with a fresh token and encapsulation.
        lastError = res.status === 401 ? new Unavailable('SERVICE', undefined, `token refused: ${code}`) : new Unavailable('SERVICE', retryAfterOf(res), code);
        continue;
      }
      if (res.status === 429) throw new Unavailable('RATE_LIMITED', retryAfterOf(res));
      throw new ClientError('REFUSED', code);
    }
    throw lastError;
  }
}

function codeOf(body: Uint8Array): string {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : 'UNKNOWN';
  } catch {
    return 'UNKNOWN';
  }
}

function retryAfterOf(res: Response): number | undefined {
  const value = Number(res.headers.get('retry-after'));
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}
