// A JavaScript handler that fetches the event's URL and reports what came
// back, or the error it caught.
export const handler = async (event) => {
  try {
    const response = await fetch(event.url);
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { error: String(error) };
  }
};
