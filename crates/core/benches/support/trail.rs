//! A realistic management-event trail: what an account's CloudTrail log files hold day to day.
//! Almost every record is an EC2, S3, STS, KMS, Logs, Lambda, SSM, ECR or console event the
//! engine does not watch (polling agents, SDK credential refreshes, KMS calls made by services on
//! the caller's behalf); one in fifty is an IAM, Lex or Connect event it does watch.
//!
//! The shapes follow real records: `AssumedRole` callers with session context, `AWSService`
//! callers for KMS and STS, `resources` arrays, `tlsDetails`, `additionalEventData`, large
//! `RunInstances` responses, failed calls with an `errorCode`. Values vary from record to record
//! (accounts, regions, roles, agents, ids) so that no two records are byte-identical.

use serde_json::{json, Value};

/// One record in this many is watched.
pub const WATCHED_EVERY: usize = 50;

const ACCOUNTS: [&str; 4] = [
    "111122223333",
    "444455556666",
    "777788889999",
    "123456789012",
];
const REGIONS: [&str; 5] = [
    "us-east-1",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "us-west-2",
];
const ROLES: [&str; 5] = [
    "Admin",
    "ci-deployer",
    "datadog-integration",
    "AWSReservedSSO_ReadOnly_5f1d2c3b4a596877",
    "app-backend",
];
const AGENTS: [&str; 5] = [
    "aws-cli/2.15.42 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1018-aws md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#ec2.describe-instances",
    "Boto3/1.34.103 md/Botocore#1.34.103 ua/2.0 os/linux#5.10.215-203.850.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.103",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.160.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-aws/5.48.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2",
];

fn pick<T: Copy>(list: &[T], i: usize) -> T {
    list[i % list.len()]
}

fn hex(i: usize, width: usize) -> String {
    format!(
        "{:0width$x}",
        i.wrapping_mul(2_654_435_761) % (1 << 48),
        width = width
    )
}

fn uuid(i: usize, salt: u32) -> String {
    let h = hex(i ^ (salt as usize) << 20, 12);
    format!(
        "{:08x}-{}-4{}-8{}-{h}",
        i as u32 ^ salt,
        &h[..4],
        &h[4..7],
        &h[7..10]
    )
}

fn time(i: usize) -> String {
    let s = i % 86_400;
    format!(
        "2024-05-08T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The `userIdentity` of a caller who assumed one of [`ROLES`].
fn assumed_role(i: usize, account: &str) -> Value {
    let role = pick(&ROLES, i / 7);
    let session = format!("session-{}", hex(i / 13, 6));
    json!({
        "type": "AssumedRole",
        "principalId": format!("AROA{}:{session}", hex(i / 7, 16).to_uppercase()),
        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
        "accountId": account,
        "accessKeyId": format!("ASIA{}", hex(i, 16).to_uppercase()),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": format!("AROA{}", hex(i / 7, 16).to_uppercase()),
                "arn": format!("arn:aws:iam::{account}:role/{role}"),
                "accountId": account,
                "userName": role
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": time(i.saturating_sub(900)), "mfaAuthenticated": "false"}
        }
    })
}

fn aws_service(service: &str) -> Value {
    json!({"type": "AWSService", "invokedBy": service})
}

fn tls(region: &str, service: &str) -> Value {
    json!({
        "tlsVersion": "TLSv1.3",
        "cipherSuite": "TLS_AES_128_GCM_SHA256",
        "clientProvidedHostHeader": format!("{service}.{region}.amazonaws.com")
    })
}

/// The fields every record has; `body` adds or overrides the rest.
fn record(i: usize, source: &str, name: &str, identity: Value, body: Value) -> Value {
    let account = pick(&ACCOUNTS, i / 11);
    let region = pick(&REGIONS, i / 3);
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": time(i),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": format!("198.51.100.{}", i % 250 + 1),
        "userAgent": pick(&AGENTS, i / 5),
        "requestParameters": null,
        "responseElements": null,
        "requestID": uuid(i, 0x5eed),
        "eventID": uuid(i, 0xe1d),
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management"
    });
    if let (Some(r), Value::Object(body)) = (r.as_object_mut(), body) {
        r.extend(body);
    }
    r
}

/// The network interface of a `RunInstances` response (its own `json!`: the whole response in
/// one would exceed the macro's recursion limit).
fn network_interface(i: usize, account: &str) -> Value {
    json!({
                        "networkInterfaceId": format!("eni-{}", hex(i, 17)),
                        "subnetId": format!("subnet-{}", hex(i / 3, 17)),
                        "vpcId": format!("vpc-{}", hex(i / 17, 17)),
                        "ownerId": account,
                        "status": "in-use",
                        "macAddress": "0a:1b:2c:3d:4e:5f",
                        "privateIpAddress": format!("10.0.{}.{}", i % 250, i / 250 % 250),
                        "sourceDestCheck": true,
                        "interfaceType": "interface",
                        "attachment": {"attachmentId": format!("eni-attach-{}", hex(i, 17)), "deviceIndex": 0, "networkCardIndex": 0, "status": "attaching", "attachTime": 1_715_130_102_000u64, "deleteOnTermination": true}
    })
}

/// The `i`-th unwatched record: one of fifteen shapes, with values varying by `i`.
pub fn unwatched(i: usize) -> Value {
    let account = pick(&ACCOUNTS, i / 11);
    let region = pick(&REGIONS, i / 3);
    let caller = || assumed_role(i, account);
    let instance = format!("i-{}", hex(i, 17));
    match i % 15 {
        0 => record(
            i,
            "ec2.amazonaws.com",
            "DescribeInstances",
            caller(),
            json!({
                "requestParameters": {
                    "instancesSet": {},
                    "filterSet": {"items": [
                        {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}},
                        {"name": "tag:team", "valueSet": {"items": [{"value": "payments"}, {"value": "search"}]}}
                    ]},
                    "maxResults": 1000
                },
                "tlsDetails": tls(region, "ec2"),
            }),
        ),
        1 => record(
            i,
            "ec2.amazonaws.com",
            "RunInstances",
            caller(),
            json!({
                "readOnly": false,
                "requestParameters": {
                    "instancesSet": {"items": [{"imageId": "ami-0c101f26f147fa7fd", "minCount": 1, "maxCount": 1}]},
                    "instanceType": "m7g.large",
                    "blockDeviceMapping": {"items": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 30, "deleteOnTermination": true, "volumeType": "gp3", "encrypted": true}}]},
                    "monitoring": {"enabled": false},
                    "disableApiTermination": false,
                    "disableApiStop": false,
                    "clientToken": uuid(i, 0xc7),
                    "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": format!("subnet-{}", hex(i / 3, 17)), "associatePublicIpAddress": false, "groupSet": {"items": [{"groupId": format!("sg-{}", hex(i / 5, 17))}]}}]},
                    "iamInstanceProfile": {"arn": format!("arn:aws:iam::{account}:instance-profile/app-backend")},
                    "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": "worker"}, {"key": "team", "value": "payments"}]}]}
                },
                "responseElements": {
                    "requestId": uuid(i, 0x5eed),
                    "reservationId": format!("r-{}", hex(i, 17)),
                    "ownerId": account,
                    "groupSet": {},
                    "instancesSet": {"items": [{
                        "instanceId": instance,
                        "imageId": "ami-0c101f26f147fa7fd",
                        "currentInstanceBootMode": "uefi",
                        "instanceState": {"code": 0, "name": "pending"},
                        "privateDnsName": format!("ip-10-0-{}-{}.{region}.compute.internal", i % 250, i / 250 % 250),
                        "amiLaunchIndex": 0,
                        "productCodes": {},
                        "instanceType": "m7g.large",
                        "launchTime": 1_715_130_102_000u64 + i as u64,
                        "placement": {"availabilityZone": format!("{region}a"), "tenancy": "default"},
                        "monitoring": {"state": "disabled"},
                        "subnetId": format!("subnet-{}", hex(i / 3, 17)),
                        "vpcId": format!("vpc-{}", hex(i / 17, 17)),
                        "privateIpAddress": format!("10.0.{}.{}", i % 250, i / 250 % 250),
                        "stateReason": {"code": "pending", "message": "pending"},
                        "architecture": "arm64",
                        "rootDeviceType": "ebs",
                        "rootDeviceName": "/dev/xvda",
                        "blockDeviceMapping": {},
                        "virtualizationType": "hvm",
                        "hypervisor": "xen",
                        "tagSet": {"items": [{"key": "Name", "value": "worker"}, {"key": "team", "value": "payments"}]},
                        "groupSet": {"items": [{"groupId": format!("sg-{}", hex(i / 5, 17)), "groupName": "workers"}]},
                        "sourceDestCheck": true,
                        "networkInterfaceSet": {"items": [network_interface(i, account)]},
                        "ebsOptimized": true,
                        "enaSupport": true,
                        "cpuOptions": {"coreCount": 2, "threadsPerCore": 1},
                        "capacityReservationSpecification": {"capacityReservationPreference": "open"},
                        "enclaveOptions": {"enabled": false},
                        "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled", "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
                        "maintenanceOptions": {"autoRecovery": "default"},
                        "privateDnsNameOptions": {"hostnameType": "ip-name", "enableResourceNameDnsARecord": false, "enableResourceNameDnsAAAARecord": false}
                    }]}
                },
                "tlsDetails": tls(region, "ec2"),
            }),
        ),
        2 => record(
            i,
            "ec2.amazonaws.com",
            "CreateTags",
            caller(),
            json!({
                "readOnly": false,
                "requestParameters": {
                    "resourcesSet": {"items": [{"resourceId": instance}, {"resourceId": format!("vol-{}", hex(i, 17))}]},
                    "tagSet": {"items": [{"key": "backup", "value": "daily"}, {"key": "owner", "value": format!("team-{}", i % 9)}]}
                },
                "responseElements": {"requestId": uuid(i, 0x5eed), "_return": true},
                "tlsDetails": tls(region, "ec2"),
            }),
        ),
        3 => {
            let bucket = format!(
                "acme-{}-logs-{}",
                pick(&["prod", "staging", "dev"], i),
                hex(i / 29, 6)
            );
            record(
                i,
                "s3.amazonaws.com",
                "GetBucketAcl",
                caller(),
                json!({
                    "requestParameters": {"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "acl": ""},
                    "additionalEventData": {
                        "SignatureVersion": "SigV4",
                        "CipherSuite": "TLS_AES_128_GCM_SHA256",
                        "bytesTransferredIn": 0,
                        "AuthenticationMethod": "AuthHeader",
                        "x-amz-id-2": format!("{}/{}=", hex(i, 32), hex(i / 2, 24)),
                        "bytesTransferredOut": 540
                    },
                    "resources": [{"accountId": account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}],
                    "tlsDetails": tls(region, "s3"),
                }),
            )
        }
        4 => record(
            i,
            "s3.amazonaws.com",
            "ListBuckets",
            caller(),
            json!({
                "requestParameters": {"Host": format!("s3.{region}.amazonaws.com")},
                "additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": hex(i, 40), "bytesTransferredOut": 4821},
            }),
        ),
        5 => {
            let role = pick(&ROLES, i / 3);
            record(
                i,
                "sts.amazonaws.com",
                "AssumeRole",
                aws_service("lambda.amazonaws.com"),
                json!({
                    "sourceIPAddress": "lambda.amazonaws.com",
                    "userAgent": "lambda.amazonaws.com",
                    "requestParameters": {
                        "roleArn": format!("arn:aws:iam::{account}:role/{role}"),
                        "roleSessionName": format!("function-{}", hex(i / 7, 8)),
                        "durationSeconds": 3600
                    },
                    "responseElements": {
                        "credentials": {
                            "accessKeyId": format!("ASIA{}", hex(i, 16).to_uppercase()),
                            "sessionToken": format!("IQoJb3JpZ2luX2VjE{}{}{}", hex(i, 40), hex(i / 3, 40), hex(i / 5, 40)),
                            "expiration": "May 8, 2024, 2:21:42 AM"
                        },
                        "assumedRoleUser": {
                            "assumedRoleId": format!("AROA{}:function-{}", hex(i / 7, 16).to_uppercase(), hex(i / 7, 8)),
                            "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/function-{}", hex(i / 7, 8))
                        }
                    },
                    "resources": [{"accountId": account, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{account}:role/{role}")}],
                    "sharedEventID": uuid(i, 0x5ba),
                    "eventType": "AwsApiCall",
                }),
            )
        }
        6 => record(
            i,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            caller(),
            json!({
                "tlsDetails": tls(region, "sts"),
            }),
        ),
        7 => {
            let key = format!("arn:aws:kms:{region}:{account}:key/{}", uuid(i / 31, 0x4e1));
            record(
                i,
                "kms.amazonaws.com",
                "Decrypt",
                aws_service("secretsmanager.amazonaws.com"),
                json!({
                    "sourceIPAddress": "secretsmanager.amazonaws.com",
                    "userAgent": "secretsmanager.amazonaws.com",
                    "requestParameters": {
                        "encryptionContext": {"SecretARN": format!("arn:aws:secretsmanager:{region}:{account}:secret:prod/db-{}", hex(i / 31, 6)), "SecretVersionId": uuid(i / 3, 0x5ec)},
                        "encryptionAlgorithm": "SYMMETRIC_DEFAULT"
                    },
                    "resources": [{"accountId": account, "type": "AWS::KMS::Key", "ARN": key}],
                    "sharedEventID": uuid(i, 0x5ba),
                }),
            )
        }
        8 => {
            let key = format!("arn:aws:kms:{region}:{account}:key/{}", uuid(i / 31, 0x4e1));
            record(
                i,
                "kms.amazonaws.com",
                "GenerateDataKey",
                aws_service("s3.amazonaws.com"),
                json!({
                    "sourceIPAddress": "s3.amazonaws.com",
                    "userAgent": "s3.amazonaws.com",
                    "requestParameters": {
                        "keyId": key,
                        "encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::acme-data-{}/exports/{}.parquet", hex(i / 31, 6), hex(i, 12))},
                        "keySpec": "AES_256"
                    },
                    "resources": [{"accountId": account, "type": "AWS::KMS::Key", "ARN": key}],
                    "sharedEventID": uuid(i, 0x5ba),
                }),
            )
        }
        9 => record(
            i,
            "logs.amazonaws.com",
            "CreateLogStream",
            caller(),
            json!({
                "readOnly": false,
                "requestParameters": {"logGroupName": format!("/aws/lambda/worker-{}", i % 23), "logStreamName": format!("2024/05/08/[$LATEST]{}", hex(i, 32))},
            }),
        ),
        10 => record(
            i,
            "lambda.amazonaws.com",
            "GetFunction20150331v2",
            caller(),
            json!({
                "requestParameters": {"functionName": format!("arn:aws:lambda:{region}:{account}:function:worker-{}", i % 23)},
                "tlsDetails": tls(region, "lambda"),
            }),
        ),
        11 => record(
            i,
            "ssm.amazonaws.com",
            "GetParameters",
            caller(),
            json!({
                "requestParameters": {"names": [format!("/app/prod/db-host-{}", i % 7), "/app/prod/feature-flags"], "withDecryption": true},
                "tlsDetails": tls(region, "ssm"),
            }),
        ),
        12 => record(
            i,
            "signin.amazonaws.com",
            "ConsoleLogin",
            json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{}", hex(i / 5, 16).to_uppercase()),
                "arn": format!("arn:aws:iam::{account}:user/user-{}", i % 41),
                "accountId": account,
                "userName": format!("user-{}", i % 41)
            }),
            json!({
                "awsRegion": "us-east-1",
                "readOnly": false,
                "eventType": "AwsConsoleSignIn",
                "responseElements": {"ConsoleLogin": "Success"},
                "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "Yes"},
            }),
        ),
        13 => record(
            i,
            "ecr.amazonaws.com",
            "GetAuthorizationToken",
            caller(),
            json!({
                "requestParameters": {"registryIds": [account]},
            }),
        ),
        // A failed read, as scanners and least-privilege roles produce all day.
        _ => record(
            i,
            "ec2.amazonaws.com",
            "DescribeSnapshots",
            caller(),
            json!({
                "errorCode": "Client.UnauthorizedOperation",
                "errorMessage": format!("You are not authorized to perform this operation. User: arn:aws:sts::{account}:assumed-role/{}/x is not authorized to perform: ec2:DescribeSnapshots because no identity-based policy allows the ec2:DescribeSnapshots action", pick(&ROLES, i / 7)),
                "requestParameters": {"ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}},
            }),
        ),
    }
}

/// The records of one trail cycle: each watched record followed by `WATCHED_EVERY - 1`
/// unwatched ones.
pub fn records(watched: &[Value]) -> Vec<Value> {
    let mut out = Vec::with_capacity(watched.len() * WATCHED_EVERY);
    let mut i = 0;
    for w in watched {
        out.push(w.clone());
        for _ in 1..WATCHED_EVERY {
            out.push(unwatched(i));
            i += 1;
        }
    }
    out
}
