/** The raw SDK baseline's one activity: returns its input, the least work an activity can do. */
export async function echo(text: string): Promise<string> {
  return text;
}
