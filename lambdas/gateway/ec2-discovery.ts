// Where the gateway finds the workers in AWS: the running instances of the enclave
// workers' Auto Scaling groups (one per live session-key generation, so at most two
// during a roll-out), as EC2 reports them (authoritative: a worker cannot register itself
// or anything else). Their parent proxies listen on one private port.
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';

const PRIVATE_IPV4 = /^(?:10\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}$/;

export function ec2WorkerDiscovery(options: { readonly client: EC2Client; readonly autoScalingGroups: readonly string[]; readonly port: number }): () => Promise<string[]> {
  return async () => {
    const urls: string[] = [];
    let token: string | undefined;
    do {
      const out = await options.client.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'tag:aws:autoscaling:groupName', Values: [...options.autoScalingGroups] },
            { Name: 'instance-state-name', Values: ['running'] },
          ],
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const reservation of out.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          const ip = instance.PrivateIpAddress;
          if (ip && PRIVATE_IPV4.test(ip)) urls.push(`http://${ip}:${options.port}`);
        }
      }
      token = out.NextToken;
    } while (token);
    return urls.sort();
  };
}
