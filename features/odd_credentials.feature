@beyond-the-page
Feature: Odd credentials
  Spec section 3 applied to values a careless or hostile client sends. Each has a defined
  answer, and none is a server error.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied
    And the "apikey-auth-strict" manifest is applied

  @APIKEY-CORE-070 @APIKeyCore
  Scenario Outline: <case>
    When I send a request to the httpbin app with the header "Authorization: <value>"
    Then the request is refused with "<reason>"

    Examples:
      | case                                               | value                                                     | reason              |
      | nothing after the prefix is no key                 | Bearer                                                    | no API Key found    |
      | a second space becomes part of the key             | Bearer  N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy  | invalid credentials |
      | keys are case-sensitive                            | Bearer n2ywmdixzte0nguzns1jnzgzltrkyjatyje2yzrkzgvmnjcy   | invalid credentials |
      | a value that is not ASCII is no key                | Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcé   | no API Key found    |
      | another scheme is no key                           | Token N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy    | no API Key found    |

  @APIKEY-CORE-071 @APIKeyCore
  Scenario: A very long key is refused as invalid credentials
    When I send a request to the httpbin app with a Bearer key of 8192 characters
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-072 @GRPC
  Scenario: A gRPC call without a key is refused the gRPC way
    When I send a request to the httpbin app with the header "Content-Type: application/grpc"
    Then the request is refused the gRPC way, with grpc-status 16
