import type { ApiEvent, ApiResult } from "./types/events";
import { OrderBook, Status, type Order } from "./src/orders";

type Context = { awsRequestId: string; functionName: string };

const parse = <T>(text: string | null, fallback: T): T =>
  text ? (JSON.parse(text) as T) : fallback;

export const lambdaHandler = async (event: ApiEvent, context: Context): Promise<ApiResult> => {
  const orders = parse<Order[]>(event.body, []);
  const book = new OrderBook(event.queryStringParameters?.owner ?? "nobody");
  orders.forEach((order) => book.add({ ...order, status: order.status ?? Status.Open }));
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      ...book.summary(),
      function: context.functionName,
      typed: typeof (Status as unknown) === "object",
    }),
  };
};
