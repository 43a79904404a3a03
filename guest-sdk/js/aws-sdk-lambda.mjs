// What Lambda's Node.js runtime gives the AWS SDK for JavaScript v3, for the
// clients' browser builds that `bundle.mjs` bundles (they send requests with
// `fetch`, which the host carries out through `wasi:http`): the region and
// credentials from the function's environment, as the SDK's Node.js build
// reads them (AWS_REGION, then AWS_DEFAULT_REGION; AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
//
// Both are providers, read when a request is made, not when the client is
// created: a client created at module level is created while the component
// is built, when the function's environment is not there yet.

const environment = () => globalThis.process?.env ?? {};

async function region() {
  const env = environment();
  const found = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!found) {
    throw new Error('Region is missing');
  }
  return found;
}

function credentialsFromEnvironment() {
  return async () => {
    const env = environment();
    if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
      const error = new Error(
        'Could not load credentials from any providers: no AWS_ACCESS_KEY_ID and ' +
          'AWS_SECRET_ACCESS_KEY in the environment (wasm-lambda: --aws-credentials)',
      );
      error.name = 'CredentialsProviderError';
      throw error;
    }
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  };
}

/// The client's configuration with Lambda's defaults where it sets none.
export function lambdaDefaults(config) {
  const out = { ...(config ?? {}) };
  if (out.region === undefined) {
    out.region = region;
  }
  if (out.credentialDefaultProvider === undefined) {
    out.credentialDefaultProvider = () => credentialsFromEnvironment();
  }
  return out;
}

/// The endpoint configured for a service, as the SDK's Node.js build finds
/// it: AWS_ENDPOINT_URL_<SERVICE_ID> (the service id's words upper-cased
/// and joined by `_`), then AWS_ENDPOINT_URL; none when
/// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
export async function endpointFromEnvironment(serviceId) {
  const env = environment();
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') {
    return undefined;
  }
  const key = (serviceId ?? '')
    .split(' ')
    .map((word) => word.toUpperCase())
    .join('_');
  return env[`AWS_ENDPOINT_URL_${key}`] || env.AWS_ENDPOINT_URL || undefined;
}

/// Whether `body` is a Node.js stream (a `requestHandler: new
/// NodeHttpHandler(...)` answers with `http`'s IncomingMessage) rather than
/// the web stream or Blob the browser build's middleware expects.
function isNodeStream(body) {
  return (
    body != null &&
    typeof body.getReader !== 'function' &&
    !(typeof Blob === 'function' && body instanceof Blob) &&
    typeof body[Symbol.asyncIterator] === 'function'
  );
}

function webStreamOf(stream) {
  const iterator = stream[Symbol.asyncIterator]();
  return new ReadableStream({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) {
        controller.close();
      } else {
        controller.enqueue(typeof value === 'string' ? new TextEncoder().encode(value) : value);
      }
    },
    cancel() {
      return iterator.return?.();
    },
  });
}

/// The client's resolved configuration, with a request handler of the
/// caller's own (`config.requestHandler`: a `NodeHttpHandler` with its
/// timeouts, as handlers written for Lambda set) answering with a web
/// stream where it answered with a Node.js one: the browser build's body
/// collector, checksum validation and S3 `Body` helpers
/// (`transformToString`, ...) read web streams only. Everything else
/// reaches the caller's handler itself, with itself as `this`.
export function lambdaStreams(runtimeConfig, config) {
  const handler = runtimeConfig.requestHandler;
  if (!config?.requestHandler || !handler || typeof handler.handle !== 'function') {
    return runtimeConfig;
  }
  const handle = async (request, options) => {
    const result = await handler.handle(request, options);
    const response = result?.response;
    if (response && isNodeStream(response.body)) {
      response.body = webStreamOf(response.body);
    }
    return result;
  };
  const adapted = new Proxy(handler, {
    get(target, key) {
      if (key === 'handle') return handle;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...runtimeConfig, requestHandler: adapted };
}
