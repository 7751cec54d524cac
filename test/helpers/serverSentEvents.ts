/** The Server-Sent Events of a streamed response (what `serve` sends with `stream: true`), as [event, data] pairs. */
export async function* serverSentEvents(response: Response): AsyncGenerator<[string, Record<string, unknown>]> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      yield [event, JSON.parse(/^data: (.*)$/m.exec(block)![1]) as Record<string, unknown>];
    }
  }
}
