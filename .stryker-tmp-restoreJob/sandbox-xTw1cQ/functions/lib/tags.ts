// @ts-nocheck
// Tag keys shared by the components that create resources and the Lambdas that
// recognise them. One place, so a rename cannot silently split the two.

/** On every database pilotlight manages (value "true"); machines act only on these. */
export const MANAGED_TAG = "pilotlight:managed";
/** On snapshots and images pilotlight created (value: the job that made it); retention touches only these. */
export const CREATED_BY_TAG = "pilotlight:created-by";
/** On an Aurora cluster: the intended writer instance class, the durable record failover recovery reads. */
export const WRITER_CLASS_TAG = "pilotlight:writer-class";
/** On a snapshot or image: identifier of the database or instance it was taken from. */
export const SOURCE_TAG = "pilotlight:source";
