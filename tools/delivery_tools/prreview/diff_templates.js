// Compares pairs of CloudFormation templates with the CDK's own diff engine, offline.
//
// Why a Node script: `@aws-cdk/cloudformation-diff` is the engine behind `cdk diff`, and it knows from the
// CloudFormation resource specification which property changes replace a resource. The CLI only offers
// it against deployed stacks (credentials needed); this script offers it between two synthesized templates.
//
// stdin:  JSON list of {"key": string, "old": template | null, "new": template | null}
// stdout: JSON list of {"key", "changeCount", "text", "resources": [{"logicalId", "type", "impact",
//         "isAddition", "isRemoval", "path"}]}
'use strict';

const { Writable } = require('node:stream');
const { fullDiff, formatDifferences } = require('@aws-cdk/cloudformation-diff');

// Changes to this resource only record the CDK version used; `cdk diff` hides them too.
const CDK_METADATA_TYPE = 'AWS::CDK::Metadata';

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function formatToText(templateDiff) {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  formatDifferences(sink, templateDiff);
  return text;
}

function constructPath(resource) {
  return (resource && resource.Metadata && resource.Metadata['aws:cdk:path']) || null;
}

function compare({ key, old: oldTemplate, new: newTemplate }) {
  const templateDiff = fullDiff(oldTemplate || {}, newTemplate || {});
  templateDiff.resources = templateDiff.resources.filter(
    (change) => change !== undefined
      && change.oldResourceType !== CDK_METADATA_TYPE
      && change.newResourceType !== CDK_METADATA_TYPE,
  );
  const resources = Object.entries(templateDiff.resources.changes)
    .filter(([, change]) => change.isDifferent)
    .map(([logicalId, change]) => ({
      logicalId,
      type: change.newResourceType || change.oldResourceType,
      impact: change.changeImpact,
      isAddition: change.isAddition,
      isRemoval: change.isRemoval,
      path: constructPath(change.newValue) || constructPath(change.oldValue),
    }));
  const changeCount = templateDiff.isEmpty ? 0 : templateDiff.differenceCount;
  return { key, changeCount, text: changeCount ? formatToText(templateDiff) : '', resources };
}

readStdin()
  .then((input) => {
    process.stdout.write(JSON.stringify(JSON.parse(input).map(compare)));
  })
  .catch((error) => {
    process.stderr.write(`diff_templates: ${error.stack || error}\n`);
    process.exit(1);
  });
