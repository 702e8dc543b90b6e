export { LlmBackend, enclaveEngine, type AsyncModelBackend, type FeatureContext, type GenerationStats, type LlmBackendOptions } from './backend';
export { BUCKET_DEADLINES_MS, DEFAULT_BUDGETS, budgetFor, type BudgetTable, type TokenBudget } from './budgets';
export { LlmBackendError, LLM_ERROR_CODES, ModelError, MODEL_ERROR_CODES, type LlmErrorCode } from './errors';
export { llamaLoader, loadLlamaRuntime, type Generation, type GenerateRequest, type LlamaLoaderOptions, type LoadedModel, type ModelLoader } from './llama';
export { assertGguf, defaultModelDir, openSealedModel, verifyModel, withModelFile, type ModelFileOptions, type ModelFileStrategy } from './model-file';
export { composePrompt, summarizePrompt, type Prompt } from './prompts';
