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

  @APIKEY-CORE-073 @APIKeyCore
  Scenario: A key that differs from a configured one only in letter case is invalid
    When I send a request to the httpbin app with the header "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcY"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer n2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-CORE-074 @APIKeyCore
  Scenario: Keys are compared whole: a configured key with more bytes, or only its start, is invalid
    When I send a request to the httpbin app with the header "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcyx"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy,N2YwMDIx"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjc"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgz"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-075 @KeyLocation
  Scenario: A key in a query parameter is percent-decoded before it is compared, and + is a space
    Given I create a Secret holding a key with characters a URL must escape
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: escaped
        namespace: agentgateway-system
      stringData:
        odd: "q key+/=&%-75"
      """
    And I apply a Strict policy reading the api_key query parameter
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
              name: escaped
            location:
              queryParameter:
                name: api_key
      """
    When I send a request to "www.example.com/anything?api_key=q%2Bkey%2B%2F%3D%26%25-75&page=2"
    Then the request is refused with "invalid credentials"
    When I send a request to "www.example.com/anything?api_key=q+key%2B%2F%3D%26%25-75&page=2"
    Then the request succeeds
    And httpbin sees the query string "page=2"
    When I send a request to "www.example.com/anything?api_key=q%20key%2b%2f%3d%26%25-75&page=2"
    Then the request succeeds
    And httpbin sees the query string "page=2"

  @APIKEY-EXT-076 @KeyLocation
  Scenario: When a query parameter comes twice, the first one is the key
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
    When I send a request to "www.example.com/anything?api_key=wrong-key-0000&api_key=N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    Then the request is refused with "invalid credentials"
    When I send a request to "www.example.com/anything?api_key=N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy&api_key=wrong-key-0000"
    Then the request succeeds

  @APIKEY-EXT-077 @KeyLocation
  Scenario: Cookies are read as the proxy parses them: names and values trimmed, a header that is not ASCII holds none
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
    When I send a request to the httpbin app with the header "Cookie: session=N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy; lang=fr-é"
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the header "Cookie: a=1; session = N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    Then the request succeeds
    And httpbin sees the header "Cookie" with the value "a=1"

  @APIKEY-EXT-078 @KeyLocation
  Scenario: A fragment is not part of the query: a key before it is read whole
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
    When I send a request to "www.example.com/anything?page=2#api_key=N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    Then the request is refused with "no API Key found"
    When I send a request to "www.example.com/anything?page=2&api_key=N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy#top"
    Then the request succeeds
    And httpbin sees the query string "page=2"

  @APIKEY-EXT-079 @GRPC
  Scenario: gRPC is told by its content type without regard to case, subtype or parameters, and gRPC-Web is not gRPC
    When I send a request to the httpbin app with the header "Content-Type: Application/GRPC+proto; charset=utf-8"
    Then the request is refused the gRPC way, with grpc-status 16
    And the response has the header "grpc-message: api%20key%20authentication%20failure:%20no%20API%20Key%20found"
    When I send a request to the httpbin app with the header "Content-Type: application/grpc;charset=utf-8"
    Then the request is refused the gRPC way, with grpc-status 16
    When I send a request to the httpbin app with the header "Content-Type: application/grpc-web"
    Then the request is refused with "no API Key found"
