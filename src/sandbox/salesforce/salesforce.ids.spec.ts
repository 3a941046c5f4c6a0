import { canonicalSalesforceId } from '../../providers/salesforce/salesforce.rules';
import { randomSalesforceId, salesforceId, toId18 } from './salesforce.ids';

describe("the emulator's record ids", () => {
  it('are 18 characters: key prefix, pod, reserved 0, serial, case suffix', () => {
    expect(salesforceId('0a3', 9112344)).toBe('0a3Dn000000cEXIIA2');
    expect(randomSalesforceId('3tt')).toMatch(/^3ttDn0[0-9A-Za-z]{9}[A-Z0-5]{3}$/);
  });

  it("read 15- and 18-character ids exactly as the data source's own implementation does", () => {
    const samples = Array.from({ length: 300 }, () => randomSalesforceId('3tt'));
    for (const id of samples) {
      for (const text of [id, id.slice(0, 15), id.toUpperCase(), id.toLowerCase(), `${id.slice(0, 15)}ZZZ`]) {
        expect(toId18(text)).toBe(canonicalSalesforceId(text));
      }
      expect(toId18(id)).toBe(id);
    }
  });
});
