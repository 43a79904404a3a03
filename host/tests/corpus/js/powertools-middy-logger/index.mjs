import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';

const logger = new Logger({ serviceName: 'orders' });
const metrics = new Metrics({ namespace: 'Shop', serviceName: 'orders' });

const lambdaHandler = async (event) => {
  logger.appendKeys({ tenant: event.tenant });
  logger.info('processing order', { orderId: event.orderId });
  metrics.addMetric('OrdersProcessed', MetricUnit.Count, 1);
  return { ok: true, orderId: event.orderId };
};

export const handler = middy(lambdaHandler)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics));
