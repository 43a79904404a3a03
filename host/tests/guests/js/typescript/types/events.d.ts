// The shapes of the events this function takes, as a project keeps its own
// type declarations beside the code.
export interface ApiEvent {
  httpMethod: string;
  path: string;
  queryStringParameters: Record<string, string> | null;
  body: string | null;
}

export interface ApiResult {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}
