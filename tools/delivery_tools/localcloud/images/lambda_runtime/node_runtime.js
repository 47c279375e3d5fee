// The Lambda Runtime API loop for `nodejs*` functions, as AWS's runtime runs them: load the handler named by
// _HANDLER (`file.export`) from LAMBDA_TASK_ROOT, ask the Runtime API for the event, answer with the result
// or the error. One event per container, the way the local cloud's runtime shim serves it.
"use strict";

const http = require("node:http");
const path = require("node:path");

const RUNTIME = "/2018-06-01/runtime";

function call(method, route, body) {
  const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
  return new Promise((resolve, reject) => {
    const request = http.request({ host, port, method, path: `${RUNTIME}${route}` }, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ headers: response.headers, body: Buffer.concat(chunks).toString("utf8") })
      );
    });
    request.on("error", reject);
    if (body !== undefined) request.setHeader("Content-Type", "application/json");
    request.end(body);
  });
}

function errorBody(error) {
  return JSON.stringify({
    errorType: (error && error.name) || "Error",
    errorMessage: (error && error.message) || String(error),
    stackTrace: error && error.stack ? String(error.stack).split("\n") : [],
  });
}

function loadHandler(name) {
  const separator = name.lastIndexOf(".");
  const file = name.slice(0, separator);
  const exported = name.slice(separator + 1);
  const handler = require(path.join(process.env.LAMBDA_TASK_ROOT || "/var/task", file))[exported];
  if (typeof handler !== "function") {
    throw new TypeError(`${name} is not a function exported by ${file}`);
  }
  return handler;
}

async function main() {
  let handler;
  try {
    handler = loadHandler(process.env._HANDLER || "index.handler");
  } catch (error) {
    await call("POST", "/init/error", errorBody(error));
    return;
  }
  const next = await call("GET", "/invocation/next");
  const requestId = next.headers["lambda-runtime-aws-request-id"];
  const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
  const context = {
    awsRequestId: requestId,
    invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    const result = await handler(JSON.parse(next.body), context);
    await call("POST", `/invocation/${requestId}/response`, JSON.stringify(result === undefined ? null : result));
  } catch (error) {
    console.error(error);
    await call("POST", `/invocation/${requestId}/error`, errorBody(error));
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
