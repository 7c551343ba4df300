/**
 * Every step of the image backup machine: AMIs of the tagged instances, copied to the
 * DR region encrypted with the DR-region key, retention in both regions.
 *
 * Environment: HOME_REGION, DR_REGION, TAG_KEY, TAG_VALUE, NO_REBOOT, DR_KEY_ARN, KEEP.
 */
// @ts-nocheck

import { EC2Client } from "@aws-sdk/client-ec2";
import { SFNClient } from "@aws-sdk/client-sfn";
import { asTask } from "../lib/errors";
import { imageSettingsFromEnv, runImageStep } from "../lib/images";

const clients = new Map<string, EC2Client>();
const ec2 = (region: string) => clients.get(region) ?? clients.set(region, new EC2Client({ region })).get(region)!;
const sfn = new SFNClient({});

export async function handler(event: Parameters<typeof runImageStep>[2]): Promise<unknown> {
    return asTask(() => runImageStep({ ec2, sfn }, imageSettingsFromEnv(process.env), event));
}
