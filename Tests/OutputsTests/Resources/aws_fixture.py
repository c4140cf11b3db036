"""AWS resources on moto's server for auditpipe's SQS and Lambda output tests, made and read
with boto3 (an independent client).

  setup ENDPOINT      an IAM user with an access key and a policy allowing SQS and Lambda, a
                      standard and a FIFO queue, a Lambda function (moto without Docker: its
                      "simple" Lambda, which accepts invocations and runs no code); then turns
                      on moto's request authentication, so every later request must carry a
                      valid SigV4 signature of that user. Prints the names as JSON.
  receive ENDPOINT KEY SECRET QUEUE_URL COUNT
                      receives until COUNT messages arrived or 20 s passed; prints them as JSON
                      (body, message attributes, FIFO group and deduplication ids).
  signature REQUEST   reads a request as sent (JSON: method, url with its encoded path
                      and query, headers, body in base64, secret, region, service) and prints
                      the signature botocore computes for it over the headers its
                      Authorization names, as an AWS service recomputes it.
"""
import base64
import io
import json
import sys
import time
import urllib.request
import zipfile

import boto3

REGION = "eu-west-1"


def client(service, endpoint, key="testing", secret="testing"):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret)


def post(endpoint, path, body):
    request = urllib.request.Request(endpoint + path, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        response.read()


def setup(endpoint):
    post(endpoint, "/moto-api/config", json.dumps({"lambda": {"use_docker": False}}))
    iam = client("iam", endpoint)
    iam.create_user(UserName="auditpipe-sink")
    key = iam.create_access_key(UserName="auditpipe-sink")["AccessKey"]
    iam.put_user_policy(UserName="auditpipe-sink", PolicyName="deliver", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sqs:*", "lambda:*"], "Resource": "*"}],
    }))
    role = iam.create_role(RoleName="responder", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))["Role"]["Arn"]
    sqs = client("sqs", endpoint)
    queue = sqs.create_queue(QueueName="falco-alerts")["QueueUrl"]
    fifo = sqs.create_queue(QueueName="falco-alerts.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    function = client("lambda", endpoint).create_function(
        FunctionName="falco-responder", Runtime="python3.11", Role=role, Handler="handler.handle",
        Code={"ZipFile": code.getvalue()})["FunctionArn"]
    # From now on every request must be signed by a known user with a permitting policy.
    post(endpoint, "/moto-api/reset-auth", "0")
    print(json.dumps({"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
                      "queue_url": queue, "fifo_queue_url": fifo, "function_arn": function}))


def receive(endpoint, key, secret, queue_url, count):
    sqs = client("sqs", endpoint, key, secret)
    messages = []
    deadline = time.time() + 20
    while len(messages) < count and time.time() < deadline:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     MessageAttributeNames=["All"], AttributeNames=["All"])
        for message in answer.get("Messages", []):
            messages.append({
                "body": message["Body"],
                "attributes": {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()},
                "group_id": message.get("Attributes", {}).get("MessageGroupId"),
                "deduplication_id": message.get("Attributes", {}).get("MessageDeduplicationId"),
            })
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    print(json.dumps(messages))


def signature():
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    sent = json.loads(sys.argv[2])
    authorization = sent["headers"]["Authorization"]
    access_key = authorization.split("Credential=")[1].split("/")[0]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {name: value for name, value in sent["headers"].items() if name.lower() in signed}
    request = AWSRequest(method=sent["method"], url=sent["url"], data=base64.b64decode(sent["body"]), headers=headers)
    request.context["timestamp"] = sent["headers"]["X-Amz-Date"]
    auth = SigV4Auth(Credentials(access_key, sent["secret"]), sent["service"], sent["region"])
    canonical = auth.canonical_request(request)
    print(json.dumps({"signature": auth.signature(auth.string_to_sign(request, canonical), request),
                      "canonical_request": canonical}))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2])
    elif sys.argv[1] == "receive":
        receive(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    elif sys.argv[1] == "signature":
        signature()
    else:
        sys.exit("usage: aws_fixture.py setup ENDPOINT | receive ENDPOINT KEY SECRET QUEUE_URL COUNT | signature REQUEST")
