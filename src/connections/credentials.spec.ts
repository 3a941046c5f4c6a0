import { baseUrlProblem } from './credentials';

describe('baseUrlProblem', () => {
  it('takes https URLs of public hosts', () => {
    expect(baseUrlProblem('https://api.salla.dev/admin/v2', false)).toBeNull();
    expect(baseUrlProblem('https://acme.my.salesforce.com', false)).toBeNull();
  });

  it.each([
    ['http://api.salla.dev', /https/],
    ['https://user:pw@api.salla.dev', /user info/],
    ['https://api.salla.dev/?x=1', /query/],
    ['https://169.254.169.254/latest', /private or link-local/],
    ['https://10.0.0.5', /private/],
    ['https://192.168.1.1', /private/],
    ['https://172.20.0.1', /private/],
    ['https://[fd00::1]', /private/],
    ['https://127.0.0.1:8443', /loopback/],
    ['http://127.0.0.1:3000', /https/],
    ['file:///etc/passwd', /https/],
    ['not a url', /absolute URL/],
    [`https://a.com/${'x'.repeat(3000)}`, /2048/],
  ])('refuses %s in production', (url, why) => {
    expect(baseUrlProblem(url, false)).toMatch(why);
  });

  it('takes http on loopback only where sandboxes run', () => {
    expect(baseUrlProblem('http://127.0.0.1:3000', true)).toBeNull();
    expect(baseUrlProblem('http://10.0.0.1:3000', true)).toMatch(/private/);
  });
});
