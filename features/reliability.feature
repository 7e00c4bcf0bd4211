@Reliability
Feature: Reliability under hostile clients and key churn (opt-in)
  Not a rule of the spec but a measure of a gateway's worst moments: requests no client
  should send, and keys changing under load. Neither scenario is in the default profiles;
  ask for them with --profiles APIKEY-RELIABILITY (and, on a cluster, claim the feature with
  --supported-features APIKeyCore,Reliability). Both print their figures.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied
    And the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with a valid API key in the Authorization header
    Then the request succeeds

  @APIKEY-REL-001
  Scenario: Hostile HTTP clients on raw sockets get no 5xx and nothing forwarded
    When hostile clients send every malformed request of the suite on raw sockets
    Then no hostile request was answered with a 5xx or forwarded, and every slow client was cut off
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with a valid API key in the Authorization header
    Then the request succeeds

  @APIKEY-REL-002
  Scenario: Clients under load while keys are added, rotated and revoked
    When clients send requests for the load duration while keys are added, rotated and revoked
    Then no request was answered with a 5xx, wrongly accepted or wrongly refused
