// cdk-nag's AwsSolutions checks over the whole app: zero unacknowledged findings, and
// every acknowledgement is listed here with its reason (the snapshot is the review list).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../bin/build-app';
import { NO_BUNDLING } from '../helpers/cdk';

function exampleApp(nag = false) {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'pp-cdk-nag-')), context: { ...NO_BUNDLING } });
  return { app, built: buildApp(app, { nag }) };
}

/** Every acknowledgement recorded on the construct tree: path, rule id, reason. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
    );
}

test('AwsSolutions: no unacknowledged finding in any stack', () => {
  const { app } = exampleApp();
  app.synth();
  const report = new AwsSolutionsChecks().validateScope(app);
  expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  expect(report.success).toBe(true);
});

test('cdk-nag is live in the app: an unacknowledged finding fails synthesis', () => {
  const { app, built } = exampleApp(true);
  // An AWS-managed policy on a role (AwsSolutions-IAM4), nowhere acknowledged.
  new iam.Role(built.foundation, 'Offender', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
  });
  expect(() => app.synth()).toThrow(/AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/AdministratorAccess\]/);
});

test('every acknowledgement names a specific rule and gives a real reason', () => {
  const { app } = exampleApp();
  // CDK's own FlowLog construct acknowledges two CloudFormation-Validate spec quirks (F3002, F3003); the rest are ours.
  const acks = acknowledgements(app).filter((a) => !(a.path.endsWith('/FlowLog') && /^CloudFormation-Validate::F300[23]$/.test(a.id)));
  expect(acks.length).toBeGreaterThan(0);
  for (const a of acks) {
    expect(a.id).toMatch(/^(AwsSolutions-[A-Z0-9]+(\[.+\])?|CloudFormation-Validate::W\d+)$/);
    expect(a.reason.length).toBeGreaterThanOrEqual(60);
  }
  expect(acks).toMatchSnapshot();
});
