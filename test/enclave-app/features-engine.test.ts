// The built-in engine's rules, one behaviour at a time (the evaluation set measures them
// together: test/eval/).
import { FeatureError } from '../../enclave-app/features/api';
import { BuiltinEngine } from '../../enclave-app/features/builtin/engine';
import { builtinModelBytes } from '../../enclave-app/features/builtin/model-file';
import { parseEngineModel } from '../../enclave-app/features/builtin/model';

const engine = BuiltinEngine.fromModel(builtinModelBytes());
const chat = (requester: string, lines: [string, string][]) => ({
  requester,
  messages: lines.map(([sender, text], i) => ({ sender, time: new Date(Date.UTC(2026, 10, 27, 9, i)).toISOString(), text })),
});

describe('summarise', () => {
  test('a task handed over goes to whoever takes it; sarcasm commits nobody', () => {
    const out = engine.summarize(
      chat('Ana', [
        ['Ben', 'I will pick up the cake on Friday.'],
        ['Cai', "Sure, I'll clean the whole flat again, because I have nothing better to do 🙄"],
        ['Ben', "Something came up, I can't get the cake anymore. Can someone else do it?"],
        ['Dee', 'I got it!'],
      ]),
    );
    expect(out.actionItems).toEqual([{ owner: 'Dee', text: 'I will pick up the cake on Friday.' }]);
  });

  test('a request accepted by its addressee is theirs; a change of mind replaces the earlier decision', () => {
    const out = engine.summarize(
      chat('Ana', [
        ['Ana', "Let's meet at Luigi's on Friday"],
        ['Ben', 'ok'],
        ['Cai', "Actually Luigi's is closed, let's go to Sakura instead"],
        ['Ben', 'fine'],
        ['Cai', '@Ben can you book the table for 4?'],
        ['Ben', 'on it'],
      ]),
    );
    expect(out.decisions).toEqual(["Actually Luigi's is closed, let's go to Sakura instead"]);
    expect(out.actionItems).toEqual([{ owner: 'Ben', text: '@Ben can you book the table for 4?' }]);
  });

  test('open questions: to the requester by name, not the ones she answered', () => {
    const out = engine.summarize(
      chat('Ana', [
        ['Ben', 'Ana, did you book the hotel?'],
        ['Ana', 'Yes, done yesterday'],
        ['Cai', 'Ana can you send the address of the hotel?'],
        ['Ben', 'Cai are you driving?'],
      ]),
    );
    expect(out.questions).toEqual([{ asker: 'Cai', text: 'Ana can you send the address of the hotel?' }]);
  });

  test('a chat in another language is refused with a typed, polite error', () => {
    const german = chat('Jonas', [
      ['Jonas', 'Hallo zusammen, was machen wir am Wochenende?'],
      ['Lea', 'Wir könnten wandern gehen, das Wetter soll gut werden.'],
    ]);
    let error: unknown;
    try {
      engine.summarize(german);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FeatureError);
    expect([(error as FeatureError).code, (error as FeatureError).message]).toEqual(['UNSUPPORTED_LANGUAGE', 'Sorry, summaries are only available for chats in English for now.']);
  });
});

describe('compose', () => {
  const draft = "hey ben, i just wanted to say i cant make it tommorow lol, teh car broke down 😭 i'll call u at 5pm https://x.example/a";
  test.each([
    ['formal', 'Hello ben, I just wanted to say I cannot make it tomorrow, the car broke down. I will call you at 5pm https://x.example/a'],
    ['concise', "Hey ben, I wanted to say I can't make it tomorrow, the car broke down. I'll call you at 5pm https://x.example/a"],
    ['friendly', "Hey ben, I just wanted to say I can't make it tomorrow lol, the car broke down 😭 I'll call you at 5pm https://x.example/a"],
  ] as const)('%s: spelling and casing fixed, tone applied, the time and the link kept', (tone, text) => {
    expect(engine.compose({ draft, tone }).text).toBe(text);
  });

  test('up to three replies to the last message, by its kind; none without one', () => {
    expect(engine.compose({ draft: 'ok', tone: 'friendly', lastMessage: 'Can you pick up the keys?' }).suggestions).toEqual(["Sure, I'll do it.", "Sorry, I can't this time.", 'Can it wait until later?']);
    expect(engine.compose({ draft: 'ok', tone: 'formal', lastMessage: 'Thanks so much for your help!' }).suggestions).toEqual(['You are welcome.', 'My pleasure.', 'Glad to help.']);
    expect(engine.compose({ draft: 'ok', tone: 'friendly', lastMessage: 'When shall we meet, Friday?' }).suggestions[0]).toBe('Friday works for me.');
    expect(engine.compose({ draft: 'ok', tone: 'friendly' }).suggestions).toEqual([]);
  });
});

test('the model file is checked before use', () => {
  const good = JSON.parse(new TextDecoder().decode(builtinModelBytes())) as Record<string, unknown>;
  expect(() => parseEngineModel(new TextEncoder().encode('not json'))).toThrow('not JSON');
  expect(() => parseEngineModel(new TextEncoder().encode(JSON.stringify({ ...good, format: 'other/1' })))).toThrow('(format)');
  expect(() => parseEngineModel(new TextEncoder().encode(JSON.stringify({ ...good, cues: { commitment: 'i will' } })))).toThrow('(cues)');
  expect(parseEngineModel(builtinModelBytes()).format).toBe('pp-builtin-engine/1');
});
