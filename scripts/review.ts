// `npm run review`: the security report a reviewer reads instead of the templates. It
// synthesizes the app (no credentials), runs cdk-nag's AwsSolutions checks, and writes
// docs/security-review.md from the synthesized templates alone:
//   - each trust domain (stack): what it holds;
//   - who can derive or decrypt what under which measurement (iam-simulate on the keys);
//   - every role: who may assume it, and what it may do;
//   - network paths: security-group rules in and out, VPC endpoints and their policies;
//   - what is logged where: log groups, API access-log formats, CloudFront logging;
//   - cdk-nag: findings (must be none) and every acknowledgement with its reason.
// test/scripts/review.test.ts regenerates it and compares, so the report cannot drift.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../bin/build-app';
import { synthesizedMatrix } from './cdk-key-policy-matrix';

const ROOT = join(__dirname, '..');
export const REVIEW_PATH = join(ROOT, 'docs', 'security-review.md');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A compact, stable rendering of a CloudFormation value (intrinsics shown as `{Ref X}` / `X.Arn`). */
export function show(value: Json): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(show).join(', ');
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const k = keys[0]!;
    const v = value[k];
    if (k === 'Ref') return `{${v}}`;
    if (k === 'Fn::GetAtt') return `{${Array.isArray(v) ? v.join('.') : v}}`;
    if (k === 'Fn::Join') return (v[1] as Json[]).map(show).join(v[0]);
    if (k === 'Fn::Sub') return typeof v === 'string' ? v : show(v[0]);
    if (k === 'Fn::ImportValue') return `{import ${show(v)}}`;
  }
  return `{${keys.map((k) => `${k}: ${show(value[k])}`).join('; ')}}`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const list = (v: Json) => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

function principals(p: Json): string {
  if (p === '*') return '*';
  return Object.entries(p ?? {})
    .map(([kind, v]) => `${kind}: ${list(v).map(show).join(', ')}`)
    .join('; ');
}

function conditions(c: Json): string {
  if (!c) return '';
  return Object.entries(c)
    .flatMap(([op, kv]) => Object.entries(kv as Json).map(([k, v]) => `${op} ${k} = ${show(v)}`))
    .join('; ');
}

function statements(doc: Json): string[] {
  return list(doc?.Statement).map((s: Json) => {
    const action = list(s.Action ?? s.NotAction).map(show).join(', ');
    const resource = list(s.Resource ?? s.NotResource).map(show).join(', ');
    const cond = conditions(s.Condition);
    return `${s.Effect} ${s.NotAction ? 'all but ' : ''}${action}${resource ? ` on ${resource}` : ''}${s.Principal ? ` to ${principals(s.Principal)}` : ''}${cond ? ` when ${cond}` : ''}`;
  });
}

interface StackTemplate {
  readonly name: string;
  readonly template: Json;
}

function resources(t: StackTemplate, type: string): [string, Json][] {
  return Object.entries(t.template.Resources ?? {}).filter(([, r]) => (r as Json).Type === type) as [string, Json][];
}

function trustDomains(stacks: readonly StackTemplate[]): string[] {
  const out = ['## Trust domains', '', '| stack | description | resources |', '| --- | --- | --- |'];
  for (const s of stacks) {
    const counts = new Map<string, number>();
    for (const r of Object.values(s.template.Resources ?? {})) counts.set((r as Json).Type, (counts.get((r as Json).Type) ?? 0) + 1);
    const summary = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `${t.replace(/^AWS::/, '')} ×${n}`).join(', ');
    out.push(`| ${s.name} | ${cell(s.template.Description ?? '—')} | ${summary} |`);
  }
  return out;
}

function roles(stacks: readonly StackTemplate[]): string[] {
  const out = ['## Roles: who may assume them, what they may do', ''];
  for (const s of stacks) {
    for (const [id, role] of resources(s, 'AWS::IAM::Role')) {
      const p = role.Properties;
      out.push(`### ${p.RoleName ?? id} (${s.name})`, '');
      for (const line of statements(p.AssumeRolePolicyDocument)) out.push(`- trust: ${line}`);
      for (const policy of list(p.Policies)) for (const line of statements(policy.PolicyDocument)) out.push(`- ${policy.PolicyName}: ${line}`);
      for (const m of list(p.ManagedPolicyArns)) out.push(`- managed policy: ${show(m)}`);
      // Separate AWS::IAM::Policy resources attached to this role.
      for (const [, pol] of resources(s, 'AWS::IAM::Policy')) {
        if (list(pol.Properties.Roles).some((r: Json) => show(r) === `{${id}}` || show(r) === p.RoleName)) {
          for (const line of statements(pol.Properties.PolicyDocument)) out.push(`- ${pol.Properties.PolicyName}: ${line}`);
        }
      }
      for (const [, pol] of resources(s, 'AWS::IAM::ManagedPolicy')) {
        if (list(pol.Properties.Roles).some((r: Json) => show(r) === `{${id}}` || show(r) === p.RoleName)) {
          for (const line of statements(pol.Properties.PolicyDocument)) out.push(`- ${pol.Properties.ManagedPolicyName ?? 'managed'}: ${line}`);
        }
      }
      out.push('');
    }
  }
  return out;
}

function network(stacks: readonly StackTemplate[]): string[] {
  const out = ['## Network paths', '', '| stack | security group | direction | peer | ports |', '| --- | --- | --- | --- | --- |'];
  // Security groups by their description, wherever a rule names them by logical id.
  const groups = new Map<string, string>();
  for (const s of stacks) for (const [id, sg] of resources(s, 'AWS::EC2::SecurityGroup')) groups.set(id, sg.Properties.GroupDescription ?? id);
  const named = (v: Json) => {
    const text = show(v);
    const m = /^\{(\w+)\.GroupId\}$/.exec(text) ?? /^\{(\w+)\}$/.exec(text);
    return m && groups.has(m[1]!) ? `“${groups.get(m[1]!)!.split(':')[0]}”` : text;
  };
  const peer = (r: Json) => named(r.SourceSecurityGroupId ?? r.DestinationSecurityGroupId ?? r.SourcePrefixListId ?? r.DestinationPrefixListId ?? r.CidrIp ?? r.CidrIpv6);
  // CDK's placeholder when a group may send nothing: ICMP type 252 code 86 to 255.255.255.255/32.
  const matchNothing = (r: Json) => r.CidrIp === '255.255.255.255/32' && r.IpProtocol === 'icmp' && r.FromPort === 252 && r.ToPort === 86;
  const ports = (r: Json) => `${r.IpProtocol === '-1' ? 'all' : r.IpProtocol}${r.FromPort !== undefined ? ` ${r.FromPort}${r.ToPort !== r.FromPort ? `–${r.ToPort}` : ''}` : ''}`;
  const rows: string[] = [];
  const row = (stack: string, group: string, direction: string, r: Json) => {
    if (!matchNothing(r)) rows.push(`| ${stack} | ${cell(group)} | ${direction} | ${cell(peer(r))} | ${ports(r)} |`);
  };
  for (const s of stacks) {
    for (const [id, sg] of resources(s, 'AWS::EC2::SecurityGroup')) {
      const name = `“${(sg.Properties.GroupDescription ?? id).split(':')[0]}”`;
      for (const r of list(sg.Properties.SecurityGroupIngress)) row(s.name, name, 'in', r);
      for (const r of list(sg.Properties.SecurityGroupEgress)) row(s.name, name, 'out', r);
    }
    for (const [, r] of resources(s, 'AWS::EC2::SecurityGroupIngress')) row(s.name, named(r.Properties.GroupId), 'in', r.Properties);
    for (const [, r] of resources(s, 'AWS::EC2::SecurityGroupEgress')) row(s.name, named(r.Properties.GroupId), 'out', r.Properties);
  }
  // A group without inline egress gets EC2's default allow-all egress.
  const defaultEgress = stacks.flatMap((s) => resources(s, 'AWS::EC2::SecurityGroup').filter(([, sg]) => sg.Properties.SecurityGroupEgress === undefined).map(([id]) => `${id} (${s.name})`));
  out.push(
    ...rows.sort(),
    '',
    defaultEgress.length === 0
      ? 'Every security group sends only what its `out` rows say: its inline egress is CDK\'s match-nothing rule, never the default allow-all.'
      : `**Security groups with EC2's default allow-all egress:** ${defaultEgress.join(', ')}.`,
  );
  out.push('', '### VPC endpoints', '');
  for (const s of stacks) {
    for (const [id, e] of resources(s, 'AWS::EC2::VPCEndpoint')) {
      out.push(`- ${id} (${s.name}): ${show(e.Properties.ServiceName)}, ${e.Properties.VpcEndpointType ?? 'Gateway'}${e.Properties.PrivateDnsEnabled ? ', private DNS' : ''}`);
      for (const line of statements(e.Properties.PolicyDocument)) out.push(`  - ${line}`);
    }
  }
  const gateways = stacks.flatMap((s) => ['AWS::EC2::InternetGateway', 'AWS::EC2::NatGateway', 'AWS::EC2::EgressOnlyInternetGateway'].flatMap((t) => resources(s, t).map(([id]) => `${id} (${s.name})`)));
  out.push('', `Internet, NAT and egress-only gateways: ${gateways.length === 0 ? 'none' : gateways.join(', ')}.`);
  return out;
}

function logging(stacks: readonly StackTemplate[]): string[] {
  const out = ['## What is logged where', ''];
  for (const s of stacks) {
    for (const [id, g] of resources(s, 'AWS::Logs::LogGroup')) out.push(`- log group ${show(g.Properties.LogGroupName ?? id)} (${s.name}): retention ${g.Properties.RetentionInDays ?? 'never expires'} days${g.Properties.KmsKeyId ? ', encrypted with a customer key' : ''}`);
    for (const [id, stage] of resources(s, 'AWS::ApiGatewayV2::Stage')) out.push(`- API access log (${s.name} ${id}): ${stage.Properties.AccessLogSettings ? `format \`${stage.Properties.AccessLogSettings.Format}\`` : 'none'}`);
    for (const [id, d] of resources(s, 'AWS::CloudFront::Distribution')) out.push(`- CloudFront ${id} (${s.name}): standard logs ${d.Properties.DistributionConfig?.Logging ? 'on' : 'off'}`);
    for (const [id, f] of resources(s, 'AWS::Lambda::Function')) out.push(`- Lambda ${show(f.Properties.FunctionName ?? id)} (${s.name}): ${f.Properties.LoggingConfig ? `logs to ${show(f.Properties.LoggingConfig.LogGroup ?? 'its own group')}` : 'logs to its own group'}, tracing ${f.Properties.TracingConfig?.Mode ?? 'off'}`);
    for (const [id, t] of resources(s, 'AWS::CloudTrail::Trail')) out.push(`- CloudTrail ${show(t.Properties.TrailName ?? id)} (${s.name}): to ${show(t.Properties.S3BucketName)}`);
    for (const [id, f] of resources(s, 'AWS::EC2::FlowLog')) out.push(`- VPC flow log ${id} (${s.name}): ${f.Properties.TrafficType} traffic to ${show(f.Properties.LogGroupName ?? f.Properties.LogDestination)}`);
  }
  return out;
}

function nag(stacks: readonly StackTemplate[], violations: readonly string[]): string[] {
  const out = ['## cdk-nag (AwsSolutions)', '', violations.length === 0 ? 'Unacknowledged findings: **none**.' : `Unacknowledged findings: **${violations.length}**: ${violations.join('; ')}`, '', '| stack | resource | rule | reason |', '| --- | --- | --- | --- |'];
  for (const s of stacks) {
    for (const [id, r] of Object.entries(s.template.Resources ?? {})) {
      for (const ack of list((r as Json).Metadata?.cdk_nag?.rules_to_suppress)) {
        out.push(`| ${s.name} | ${id} | ${ack.id}${ack.applies_to ? ` ${list(ack.applies_to).map((a: Json) => (typeof a === 'string' ? a : a.regex ?? show(a))).join(', ')}` : ''} | ${cell(ack.reason)} |`);
      }
    }
  }
  return out;
}

export interface Review {
  readonly markdown: string;
  readonly stacks: readonly StackTemplate[];
  readonly violations: readonly string[];
}

/** Synthesizes the example deployment (or `configPath`) and renders the report. */
export async function buildReview(options: { configPath?: string } = {}): Promise<Review> {
  const outdir = mkdtempSync(join(tmpdir(), 'pp-review-'));
  const validation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    // With cdk-nag as the app applies it: acknowledgements land in the templates' metadata,
    // and an unacknowledged finding fails the synthesis (the report is then not written).
    buildApp(app, { ...(options.configPath ? { configPath: options.configPath } : {}), nag: true });
    const assembly = app.synth();
    const report = new AwsSolutionsChecks().validateScope(app);
    const violations = report.violations.map((v) => `${v.ruleName} (${v.violatingResources.map((r) => r.constructPath).join(', ')})`);
    const stacks = assembly.stacks.map((s) => ({ name: s.stackName, template: s.template as Json }));
    const { matrix } = await synthesizedMatrix(options.configPath ? { configPath: options.configPath } : {});
    const keyLines = ['## Keys: who can derive or decrypt, under which measurement', '', 'iam-simulate (strict) on each synthesized key policy, intrinsics resolved. Only these callers are allowed the key\'s use:', ''];
    for (const [key, rows] of Object.entries(matrix)) {
      const use = Object.entries(rows).filter(([, d]) => d['kms:DeriveSharedSecret'] === 'Allowed' || d['kms:Decrypt'] === 'Allowed' || d['kms:Encrypt'] === 'Allowed');
      keyLines.push(`- ${key}`);
      for (const [caller, d] of use) {
        const actions = Object.entries(d).filter(([, v]) => v === 'Allowed').map(([a]) => a.replace('kms:', ''));
        keyLines.push(`  - ${caller}: ${actions.join(', ')}`);
      }
      const frozen = ['kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:ReplicateKey', 'kms:CancelKeyDeletion', 'kms:EnableKey'];
      const anyone = Object.entries(rows).filter(([, d]) => frozen.some((a) => d[a] === 'Allowed')).map(([c]) => c);
      keyLines.push(`  - may change the policy, grant, replicate, cancel a deletion or re-enable: ${anyone.length === 0 ? 'nobody' : anyone.join(', ')}`);
    }
    const markdown = [
      '# Security review',
      '',
      `Generated by \`npm run review\` from the synthesized templates of the example deployment (\`${relative(ROOT, options.configPath ?? join(ROOT, 'deploy', 'config.json'))}\`); do not edit by hand. test/scripts/review.test.ts regenerates it and fails if it differs.`,
      '',
      ...trustDomains(stacks),
      '',
      ...keyLines,
      '',
      ...roles(stacks),
      ...network(stacks),
      '',
      ...logging(stacks),
      '',
      ...nag(stacks, violations),
      '',
    ].join('\n');
    return { markdown, stacks, violations };
  } finally {
    if (validation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = validation;
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  buildReview().then(
    (review) => {
      writeFileSync(REVIEW_PATH, review.markdown);
      process.stdout.write(`${relative(process.cwd(), REVIEW_PATH)}: ${review.stacks.length} stacks, ${review.violations.length} unacknowledged cdk-nag findings\n`);
      process.exit(review.violations.length === 0 ? 0 : 1);
    },
    (err: unknown) => {
      process.stderr.write(`review: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
