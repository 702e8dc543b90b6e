// The client SDK's public surface.
export { PrivateProcessingClient, localModeAvailable, type ChatInput, type ComposeInput, type PrivateProcessingConfig } from './client';
export { ChatPrivate, ClientError, NotOptedIn, TamperAlert, Unavailable, VERIFICATION_STEPS, type VerificationStep } from './errors';
export { DEFAULT_WALLET_SCHEDULE, type WalletSchedule } from './wallet';
export type { ChatMessage, ComposeResult, SummarizeResult, Tone } from '../protocol';
