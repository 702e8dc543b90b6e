// The security report is generated from the synthesized templates; the committed copy
// must be exactly what `npm run review` writes today, so it cannot drift from the code.
import { readFileSync } from 'node:fs';
import { buildReview, REVIEW_PATH } from '../../scripts/review';

jest.setTimeout(180_000);
let review: Awaited<ReturnType<typeof buildReview>>;
beforeAll(async () => {
  review = await buildReview();
});

test('docs/security-review.md is what `npm run review` generates now (run it after changing the stacks)', () => {
  expect(readFileSync(REVIEW_PATH, 'utf8')).toBe(review.markdown);
});

test('no unacknowledged cdk-nag finding, and every acknowledgement in the templates is in the report', () => {
  expect(review.violations).toEqual([]);
  let acknowledgements = 0;
  for (const stack of review.stacks) {
    for (const resource of Object.values(stack.template.Resources ?? {}) as { Metadata?: { cdk_nag?: { rules_to_suppress?: unknown[] } } }[]) {
      acknowledgements += resource.Metadata?.cdk_nag?.rules_to_suppress?.length ?? 0;
    }
  }
  const rows = review.markdown.split('## cdk-nag (AwsSolutions)')[1]!.split('\n').filter((l) => /^\| Pp\w+ \|/.test(l));
  expect(acknowledgements).toBeGreaterThan(0);
  expect(rows).toHaveLength(acknowledgements);
});

test('every role, security group rule and key of the templates appears in the report', () => {
  for (const stack of review.stacks) {
    for (const [id, r] of Object.entries(stack.template.Resources ?? {}) as [string, { Type: string; Properties: Record<string, unknown> }][]) {
      if (r.Type === 'AWS::IAM::Role') expect(review.markdown).toContain(`### ${(r.Properties.RoleName as string | undefined) ?? id} (${stack.name})`);
      if (r.Type === 'AWS::KMS::Key') expect(review.markdown).toContain(` ${id} (release `);
      if (r.Type === 'AWS::EC2::VPCEndpoint') expect(review.markdown).toContain(`- ${id} (${stack.name})`);
    }
  }
  expect(review.markdown).toContain('may change the policy, grant, replicate, cancel a deletion or re-enable: nobody');
  expect(review.markdown).not.toMatch(/may change the policy[^\n]*: (?!nobody)/);
});
