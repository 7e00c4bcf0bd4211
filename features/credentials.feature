@beyond-the-page
Feature: Presenting the key in the Authorization header
  What the page leaves unsaid about the default location (spec sections 3 to 5): the
  `Bearer ` prefix is required but matched case-insensitively, anything else in the
  header counts as no key at all, and a wrong key is refused with its own message.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied

  @APIKEY-CORE-001 @APIKeyCore
  Scenario: A wrong key is refused as invalid credentials, with a plain-text 401
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app with the invalid API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcZ"
    Then the request fails with a 401 HTTP response code
    And the response body is "api key authentication failure: invalid credentials"
    And the response has the header "content-type: text/plain"
    And the response has no "www-authenticate" header
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    And the response body is "api key authentication failure: no API Key found"
    And the response has no "www-authenticate" header
    When I send a request to the httpbin app with a valid API key in the Authorization header
    Then the request succeeds

  @APIKEY-CORE-002 @APIKeyCore
  Scenario: The Bearer prefix is matched without regard to case
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with the header "Authorization: bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    Then the request succeeds
    And httpbin does not see the header "Authorization"
    When I send a request to the httpbin app with the header "Authorization: BEARER N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    Then the request succeeds

  @APIKEY-CORE-003 @APIKeyCore
  Scenario Outline: In Strict mode, a header without the Bearer prefix counts as no key: <case>
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app with the header "Authorization: <value>"
    Then the request fails with a 401 HTTP response code
    And the response body is "api key authentication failure: no API Key found"

    Examples:
      | case                    | value                                                   |
      | basic credentials       | Basic dXNlcjpwYXNzd29yZA==                              |
      | a bare key              | N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy        |
      | Bearer without a space  | BearerN2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy  |

  @APIKEY-CORE-004 @APIKeyCore
  Scenario Outline: In Optional mode, a header without the Bearer prefix passes through untouched: <case>
    Given the "apikey-auth-optional" manifest is applied
    When I send a request to the httpbin app with the invalid API key "not-the-key-in-the-secret"
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with the header "Authorization: <value>"
    Then the request succeeds
    And httpbin sees the header "Authorization" with the value "<value>"

    Examples:
      | case              | value                                            |
      | basic credentials | Basic dXNlcjpwYXNzd29yZA==                       |
      | a bare key        | N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy |
