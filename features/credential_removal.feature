@beyond-the-page
Feature: What the backend sees
  Spec section 6: on success only the credential is removed (every value of its header,
  or just its query parameter or cookie); the rest of the request arrives as sent.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied

  @APIKEY-EXT-060 @KeyLocation
  Scenario: Only the key's query parameter is removed; the others keep their order
    Given I apply a Strict policy reading the api_key query parameter
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
            location:
              queryParameter:
                name: api_key
      """
    When I send a request to "www.example.com/anything?z=1&API_KEY=N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy&a=2"
    Then the request is refused with "no API Key found"
    When I send a request to "www.example.com/anything?z=1&api_key=N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy&a=2&m=3"
    Then the request succeeds
    And httpbin sees the query string "z=1&a=2&m=3"

  @APIKEY-EXT-061 @KeyLocation
  Scenario: Only the key's cookie is removed; the other cookies arrive
    Given I apply a Strict policy reading the session cookie
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
            location:
              cookie:
                name: session
      """
    When I send a request to the httpbin app with the header "Cookie: a=1; b=2"
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the header "Cookie: a=1; session=N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy; b=2"
    Then the request succeeds
    And httpbin sees the header "Cookie" with the value "a=1; b=2"

  @APIKEY-CORE-062 @APIKeyCore
  Scenario: Every value of the Authorization header is removed, and the first one decides
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app with the headers "Authorization: Bearer wrong-key-0000" and "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the headers "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy" and "Authorization: Basic dXNlcjpwYXNzd29yZA=="
    Then the request succeeds
    And httpbin does not see the header "Authorization"
    And httpbin sees the header "Host" with the value "www.example.com"

  @APIKEY-CORE-063 @APIKeyCore
  Scenario: The backend learns nothing of the key: no header is added, no entry name shown
    Given I create a Secret whose entry has a telling name
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: identity-keys
        namespace: agentgateway-system
      stringData:
        client-name-6a7b: identity-key-6c8d
      """
    And I apply an Optional policy that reads it
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Optional
            secretRef:
              name: identity-keys
      """
    When I send a request to the httpbin app with the header "Authorization: Bearer client-name-6a7b"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "identity-key-6c8d" in the Authorization header
    Then the request is forwarded without the credential
    And httpbin sees no header that the same request without a key does not bring
    And nothing httpbin received mentions "client-name-6a7b"
