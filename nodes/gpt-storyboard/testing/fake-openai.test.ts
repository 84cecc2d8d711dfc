import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAI, chatRequestProblem } from './fake-openai';

describe('the fake OpenAI chat endpoint checks requests against the SDK types', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(async () => {
    await fake.close();
  });

  async function post(body: unknown): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${fake.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  }

  it('answers 400 with the OpenAI error body to content the SDK type does not allow', async () => {
    const { status, json } = await post({
      model: 'gpt-5.4-mini',
      messages: [{ role: 'user', content: 42 }],
    });
    expect(status).toBe(400);
    expect(json).toEqual({
      error: {
        message: expect.stringContaining("'messages[0].content'"),
        type: 'invalid_request_error',
        param: 'messages[0].content',
        code: 'invalid_type',
      },
    });
  });

  it('refuses fields the SDK does not send, a bad role and a missing model, like the API', () => {
    expect(
      chatRequestProblem({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        temprature: 1,
      }),
    ).toMatchObject({ message: 'Unrecognized request argument supplied: temprature', param: null });
    expect(
      chatRequestProblem({ model: 'm', messages: [{ role: 'narrator', content: 'hi' }] }),
    ).toBeDefined();
    expect(chatRequestProblem({ messages: [{ role: 'user', content: 'hi' }] })).toMatchObject({
      param: 'model',
      code: 'missing_required_parameter',
    });
    expect(
      chatRequestProblem({
        model: 'm',
        messages: [{ role: 'system', content: [{ type: 'text', text: 'be brief' }] }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'x', strict: true, schema: {} },
        },
      }),
    ).toBeUndefined();
  });
});
